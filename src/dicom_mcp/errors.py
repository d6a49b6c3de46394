"""The service's one exception tree. Every error of our own is a `DicomMcpError`:

    DicomMcpError
    ├── DicomError              dicom/errors.py: invalid queries and PACS failures
    ├── SessionError            sessions: a handle unknown or expired, too many sessions
    │   └── StoreError          sessions/store.py: the session store failed
    ├── TargetRefused           security/targets.py: a PACS the caller may not reach
    ├── MoveRefused             security/targets.py: not a registered destination, or no dicom:move
    ├── ReportUnreadable        reading/errors.py: a report's document cannot be read
    └── ConfigurationError      the operator's settings cannot be used
        ├── AuthConfigError     security/auth.py: API keys file, JWKS
        ├── NodesFileError      nodes.py: the named nodes file
        └── TlsSetupError       dicom/tls.py: a node's certificates or keys

Library errors (pynetdicom, pydicom, redis, ssl) are translated into it once, where the library
is called; the tool boundary (`tools/errors.py`) maps the tree to tool errors once. Messages
name the cause and never carry patient data.
"""

from __future__ import annotations


class DicomMcpError(Exception):
    """Base class of every error this service raises on purpose."""


class SessionError(DicomMcpError):
    """A DICOM session (a handle or a connection's choice) cannot be used."""


class ConfigurationError(DicomMcpError, ValueError):
    """The operator's configuration cannot be used; raised at start-up, or when it is first used."""
