"""The service's one exception tree, every class of it defined here and described once.

    DicomMcpError
    ├── DicomError                  a query, a retrieval or a PACS failed
    │   ├── InvalidQuery            the caller's input cannot become a valid request
    │   │   ├── IdentifierNotEncodable  pydicom could not encode it; nothing was sent
    │   │   └── SearchTooBroad      a DICOMweb search thinned out here read too many candidates
    │   ├── NothingFound            the PACS holds nothing with the UIDs asked for
    │   ├── RetrieveTooLarge        a retrieval passed the call's byte budget (it was stopped)
    │   ├── ServiceBusy             this service is at its own limit (bytes in flight, parsers)
    │   └── PacsError               talking to a PACS or DICOMweb node went wrong
    │       ├── PacsUnreachable     no TCP or TLS connection (refused, no route, DNS)
    │       ├── AssociationRejected the PACS refused the association (reason given)
    │       ├── AssociationAborted  the association or connection ended mid-operation
    │       │   ├── Dropped         ...before any answer: worth one retry on a reused association
    │       │   └── AnswerCutShort  a DICOMweb body ended before its last part
    │       ├── GetNotOffered       no C-GET at the PACS, and no receiver to read it by C-MOVE
    │       ├── PacsTimeout         a timeout or the overall deadline expired
    │       ├── PacsBusy            no slot came free in time, or 429/503 past the retries
    │       │   └── PoolTimeout     no pooled association came free before the deadline
    │       ├── QueryFailed         a failure status (DIMSE status, or HTTP status for DICOMweb)
    │       │   ├── AccessRefused   HTTP 401/403: the node refused our credentials
    │       │   └── MalformedAnswer the node's answer is not what it should be
    │       └── StoreFailed         the demo loader's C-STORE was refused
    ├── ReportUnreadable            an instance cannot be read (as a report, a header, a picture)
    │   ├── NotRenderable           it has no frame that can be shown
    │   │   └── Withheld            its pixels are not shown in the pseudonymised view
    │   ├── ReadStopped             its reading passed the deadline or memory, or its process died
    │   └── WrongInstance           the PACS sent it under another study or series than located
    ├── SessionError                a session handle cannot be used
    │   ├── SessionNotFound         unknown, expired, or another principal's
    │   ├── TooManySessions         a principal configured too many within a lifetime
    │   └── StoreError              the session store failed
    │       └── StoreUnavailable    its backing service (Redis) cannot be reached
    ├── TargetRefused               a PACS the caller may not reach
    ├── MoveRefused                 not a registered destination, or no dicom:move permission
    └── ConfigurationError          the operator's settings cannot be used
        ├── AuthConfigError         API keys file, JWKS
        ├── AllowlistError          an entry of DICOM_MCP_ALLOWED_TARGETS
        ├── NodesFileError          the named nodes file
        ├── TlsSetupError           a node's certificates or keys (a DicomError too)
        ├── CredentialsUnreadable   a DICOMweb node's token or password file
        ├── PynetdicomChanged       the installed pynetdicom is not the one our patches know
        └── NotLoopback             the sample PACS asked to listen beyond loopback

Library errors (pynetdicom, pydicom, httpx, redis, ssl, pypdf) are translated into this tree
once, where the library is called; modules that parse (multipart, JSON rows, Part 10 files,
the sandbox's frames) raise small ValueErrors of their own that their caller translates at
once and that never leave it. The tool boundary (`tools/errors.py`) is the one place where an
error becomes a tool result. Messages name the cause and never carry patient data.
"""

from __future__ import annotations


class DicomMcpError(Exception):
    """Base class of every error this service raises on purpose."""


# --- DICOM: queries, retrievals, PACS ------------------------------------------------------------


class DicomError(DicomMcpError):
    """A query, a retrieval or a PACS failed."""


class InvalidQuery(DicomError, ValueError):
    """The caller's input cannot be turned into a valid DICOM request."""


class IdentifierNotEncodable(InvalidQuery):
    """The identifier could not be encoded in the negotiated transfer syntax; nothing was sent."""


class SearchTooBroad(InvalidQuery):
    """A search whose results are filtered here (local matching, patients) read its cap of candidates."""


class NothingFound(DicomError):
    """The PACS holds nothing with the UIDs asked for."""


class RetrieveTooLarge(DicomError):
    """A retrieval brought more bytes than one call may hold in memory (it was stopped)."""


class ServiceBusy(DicomError):
    """The service is at its own limit (bytes in flight, parsing workers), whatever the PACS."""


class PacsError(DicomError):
    """Talking to a PACS failed."""


class PacsUnreachable(PacsError):
    """No TCP connection could be made to the PACS."""


class AssociationRejected(PacsError):
    """The PACS rejected the association request."""


class AssociationAborted(PacsError):
    """The association was aborted by the PACS or the network."""


class Dropped(AssociationAborted):
    """The connection closed (or was aborted) before the PACS answered at all: worth one retry."""


class AnswerCutShort(AssociationAborted):
    """The connection closed, or the body ended, before the whole answer arrived."""


class GetNotOffered(PacsError):
    """The PACS does not offer C-GET, and this service has no receiver to read it by C-MOVE."""


class PacsTimeout(PacsError):
    """The PACS did not answer within a timeout or the query deadline."""


class PacsBusy(PacsError):
    """Every slot for this PACS stayed busy until the deadline."""


class PoolTimeout(PacsBusy):
    """No connection could be had before the deadline (every slot in use or closing)."""


class QueryFailed(PacsError):
    """The PACS answered with a failure status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AccessRefused(QueryFailed):
    """The archive answered 401 or 403: our credentials are missing, wrong or not enough."""


class MalformedAnswer(QueryFailed):
    """The archive's answer is not the DICOM JSON or multipart/related body it should be."""


class StoreFailed(PacsError):
    """The PACS refused an instance, could take none of a SOP class, or stopped answering."""


# --- Reading what a PACS sent ----------------------------------------------------------------------


class ReportUnreadable(DicomMcpError, ValueError):
    """An instance cannot be read: a report's document is malformed, encrypted or of a kind we
    cannot read, or the instance itself is. Messages name the cause; they never quote content."""


class NotRenderable(ReportUnreadable):
    """The instance has no frame that can be shown (no pixel data, a frame out of range, a syntax
    no plugin decodes, or too many pixels)."""


class Withheld(NotRenderable):
    """An image a pseudonymised caller may not see: text may be burned into its pixels."""


class ReadStopped(ReportUnreadable):
    """Reading an instance was stopped: it passed its deadline or its memory, or its process died."""


class WrongInstance(ReportUnreadable):
    """The PACS sent the instance asked for under another study or series than it was located in."""


# --- Sessions -------------------------------------------------------------------------------------


class SessionError(DicomMcpError):
    """A DICOM session (a handle or a connection's choice) cannot be used."""


class SessionNotFound(SessionError, LookupError):
    """A session handle is unknown, expired, or belongs to someone else."""


class TooManySessions(SessionError):
    """A principal configured more sessions than allowed within one session lifetime."""


class StoreError(SessionError):
    """Base class for session store failures."""


class StoreUnavailable(StoreError):
    """The store's backing service cannot be reached."""


# --- Who may reach what ---------------------------------------------------------------------------


class TargetRefused(DicomMcpError, ValueError):
    """The requested target is malformed or not admitted by the operator's allowlist."""


class MoveRefused(DicomMcpError):
    """A C-MOVE to a destination that is not a registered one, or by a caller without dicom:move."""


# --- The operator's configuration ------------------------------------------------------------------


class ConfigurationError(DicomMcpError, ValueError):
    """The operator's configuration cannot be used; raised at start-up, or when it is first used."""


class AuthConfigError(ConfigurationError):
    """The authentication configuration cannot be used."""


class AllowlistError(ConfigurationError):
    """An entry of DICOM_MCP_ALLOWED_TARGETS cannot be read."""


class NodesFileError(ConfigurationError):
    """The nodes file cannot be used."""


class TlsSetupError(DicomError, ConfigurationError):
    """A node's TLS settings cannot be used (a certificate, key or CA file missing or invalid)."""


class CredentialsUnreadable(ConfigurationError):
    """A node's token_file or password_file cannot be read."""


class PynetdicomChanged(ConfigurationError):
    """The installed pynetdicom is not the one the patches in `dimse/` were written against."""


class NotLoopback(ConfigurationError):
    """The sample PACS was asked to listen on an address that is not this machine's loopback."""
