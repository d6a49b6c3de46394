"""Process-wide changes to pynetdicom and pydicom, made once before any association opens.

With `scu.py` and `reactor.py`, the only modules that touch pynetdicom.
"""

from __future__ import annotations

import logging
import socket
from contextlib import suppress

from pydicom import config as pydicom_config
from pynetdicom import _config
from pynetdicom.transport import AssociationSocket

from dicom_mcp.dicom import reactor


def configure_pynetdicom() -> None:
    """Stop pynetdicom logging identifiers (patient data) and per-message chatter; fix its socket close.

    pydicom's checks of values read off the wire are switched off: they only warn, their warnings
    quote the value (patient data), and they cost a regular expression per UID (pynetdicom builds
    dozens per association). Values sent are checked by `validation.py` before any query is built.
    """
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    reactor.install()
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_HANDLER_LEVEL = "none"
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    setattr(AssociationSocket, "_shutdown_socket", _shutdown_then_close)  # noqa: B010


def _shutdown_then_close(self: AssociationSocket) -> None:
    # pynetdicom 3.0 skips close() when shutdown() fails, which it does on a socket whose
    # connect() was refused: the descriptor then lingers until garbage collection.
    sock = self.socket
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
