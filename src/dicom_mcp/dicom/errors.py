"""The DICOM layer's branch of the service's exception tree (`dicom_mcp.errors`).

    DicomError
    ├── InvalidQuery            the caller's input cannot become a valid identifier
    │   └── IdentifierNotEncodable  pydicom could not encode it; nothing was sent
    ├── NothingFound            the PACS holds nothing with the UIDs asked for
    ├── RetrieveTooLarge        a C-GET brought more bytes than one call may hold
    ├── ServiceBusy             this service holds (or parses) as much as it may: try again shortly
    └── PacsError               talking to the PACS went wrong
        ├── PacsUnreachable     no TCP connection (refused, no route, DNS)
        ├── AssociationRejected the PACS refused the association (reason given)
        ├── AssociationAborted  the association was aborted mid-operation
        ├── PacsTimeout         a timeout or the overall deadline expired
        ├── PacsBusy            no association slot came free in time (pool.PoolTimeout too)
        └── QueryFailed         a C-ECHO/C-FIND answered with a failure status
    TlsSetupError               (a ConfigurationError too) a node's TLS files cannot be used

Failures of a PACS are put into words in one module, `failures.py`; queries.py translates
pydicom's encoding errors. Messages name the cause (status code, rejection reason, which
timeout) and never carry patient data.
"""

from __future__ import annotations

from dicom_mcp.errors import ConfigurationError, DicomMcpError


class DicomError(DicomMcpError):
    """Base class for every error raised by `dicom_mcp.dicom`."""


class InvalidQuery(DicomError, ValueError):
    """The caller's input cannot be turned into a valid DICOM identifier."""


class IdentifierNotEncodable(InvalidQuery):
    """The identifier could not be encoded in the negotiated transfer syntax; nothing was sent."""


class PacsError(DicomError):
    """Talking to a PACS failed."""


class PacsUnreachable(PacsError):
    """No TCP connection could be made to the PACS."""


class AssociationRejected(PacsError):
    """The PACS rejected the association request."""


class AssociationAborted(PacsError):
    """The association was aborted by the PACS or the network."""


class PacsTimeout(PacsError):
    """The PACS did not answer within a timeout or the query deadline."""


class PacsBusy(PacsError):
    """Every association slot for this PACS stayed busy until the deadline."""


class QueryFailed(PacsError):
    """The PACS answered with a failure status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NothingFound(DicomError):
    """The PACS holds nothing with the UIDs asked for."""


class RetrieveTooLarge(DicomError):
    """A retrieval brought more bytes than one call may hold in memory (the C-GET was cancelled)."""


class ServiceBusy(DicomError):
    """The service is at its own limit (bytes in flight, parsing workers), whatever the PACS."""


class TlsSetupError(DicomError, ConfigurationError):
    """A node's TLS settings cannot be used (a certificate, key or CA file missing or invalid)."""
