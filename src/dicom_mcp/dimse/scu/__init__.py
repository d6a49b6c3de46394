"""pynetdicom, behind one door: this package and `reactor.py` are the only pynetdicom users.

Blocking functions for `client.py`'s worker threads, which hold each association as an opaque
`Channel` and never touch pynetdicom themselves. What pynetdicom reports is put into words by
`failures.py`.

    association.py  open (retrying a PACS at its limit), check, release, abort
    exchange.py     the next DIMSE message, with both timeouts; accepted contexts
    find.py         C-ECHO, C-FIND
    retrieve.py     C-GET into memory, C-MOVE to a destination AE
    responses.py    C-FIND responses read from their bytes, messages bounded and cut short as they
                    arrive (put in place by reactor.install)
"""

from dicom_mcp.dimse.scu.association import (
    VERIFICATION,
    Channel,
    abort,
    associate,
    build_ae,
    close,
    stopped,
    usable,
)
from dicom_mcp.dimse.scu.find import Found, echo, find
from dicom_mcp.dimse.scu.retrieve import Retrieved, get, get_contexts, move, move_contexts

__all__ = [
    "VERIFICATION",
    "Channel",
    "Found",
    "Retrieved",
    "abort",
    "associate",
    "build_ae",
    "close",
    "echo",
    "find",
    "get",
    "get_contexts",
    "move",
    "move_contexts",
    "stopped",
    "usable",
]
