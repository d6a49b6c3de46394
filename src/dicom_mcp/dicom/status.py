"""DIMSE status codes: which answers are failures, and what they mean (PS3.4 C.4.1, PS3.7 C)."""

from __future__ import annotations

from typing import Final

from pydicom.dataset import Dataset

from dicom_mcp.dicom.errors import AssociationAborted, QueryFailed

SUCCESS: Final = 0x0000
CANCEL: Final = 0xFE00

_MEANINGS: Final = {
    0xA700: "out of resources",
    0xA900: "identifier does not match SOP class",
    0x0122: "SOP class not supported",
    0x0210: "duplicate invocation",
    0x0211: "unrecognised operation",
    0x0212: "mistyped argument",
}


def describe_status(code: int) -> str:
    """A human description of a failure status code."""
    if code in _MEANINGS:
        return _MEANINGS[code]
    if 0xC000 <= code <= 0xCFFF:
        return "unable to process"
    return "failure"


def _raise_if_empty(status: Dataset) -> None:
    # pynetdicom yields an empty Dataset when the DIMSE timeout expired, the peer aborted,
    # or the response was invalid; the association is gone either way.
    if not status or "Status" not in status:
        raise AssociationAborted("the PACS stopped answering (DIMSE timeout or association aborted)")


def raise_for_echo_status(status: Dataset) -> None:
    """Raise unless a C-ECHO response is Success."""
    _raise_if_empty(status)
    code = int(status.Status)
    if code != SUCCESS:
        raise QueryFailed(f"C-ECHO failed with status 0x{code:04X} ({describe_status(code)})", code)


def raise_for_find_status(status: Dataset, *, cancelled: bool) -> None:
    """Raise unless a final C-FIND response is Success (or Cancel, after we asked for it)."""
    _raise_if_empty(status)
    code = int(status.Status)
    if code == SUCCESS or (code == CANCEL and cancelled):
        return
    if code == CANCEL:
        raise QueryFailed("the PACS cancelled the C-FIND (status 0xFE00)", code)
    if 0xB000 <= code <= 0xBFFF:  # warnings still carry a complete answer
        return
    raise QueryFailed(f"C-FIND failed with status 0x{code:04X} ({describe_status(code)})", code)
