"""A PACS's failures put into words, once: every `PacsError` the DICOM layer raises is made here.

`scu/` reads the facts off pynetdicom (what an association attempt showed, a response's
status) and `client.py` knows about deadlines and shutdown; this module turns those facts
into the error tree of `errors.py`, with messages that name the cause (status code, rejection
reason, which timeout) and never carry patient data. Status meanings: PS3.4 C.4.1, PS3.7 C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dicom_mcp.errors import (
    AnswerCutShort,
    AssociationAborted,
    AssociationRejected,
    Dropped,
    PacsError,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
)

SUCCESS: Final = 0x0000
CANCEL: Final = 0xFE00
PENDING: Final = frozenset({0xFF00, 0xFF01})

_MEANINGS: Final = {
    0xA700: "out of resources",
    0xA701: "out of resources: unable to calculate the number of matches",
    0xA702: "out of resources: unable to perform sub-operations",
    0xA801: "move destination unknown: the PACS has no AE with that title",
    0xA900: "identifier does not match SOP class",
    0x0122: "SOP class not supported",
    0x0210: "duplicate invocation",
    0x0211: "unrecognised operation",
    0x0212: "mistyped argument",
}


@dataclass(frozen=True)
class Attempt:
    """What an association attempt that did not succeed showed."""

    connected: bool  # the TCP (or TLS) connection was made
    waited: float  # seconds from the connection to the end of the attempt
    rejection: str | None  # the PACS's A-ASSOCIATE-RJ: result, source and reason, in words
    answered: bool  # an A-ASSOCIATE response arrived
    aborted: bool
    contexts_accepted: bool
    tls: bool


def unresolvable(where: str, reason: str | None) -> PacsUnreachable:
    """The PACS's host name does not resolve."""
    return PacsUnreachable(
        f"cannot reach {where}: its host name does not resolve ({reason or 'unknown name'})"
    )


def association_failure(where: str, attempt: Attempt, acse_timeout: float | None) -> PacsError:
    """Why an association could not be had."""
    if attempt.rejection is not None:
        return AssociationRejected(f"{where} rejected the association ({attempt.rejection})")
    if (
        attempt.connected
        and not attempt.answered
        and acse_timeout is not None
        and attempt.waited >= acse_timeout
    ):
        # pynetdicom aborts the association itself when the ACSE timeout expires: not the PACS's abort.
        return PacsTimeout(
            f"{where} accepted the connection but did not answer the association request "
            f"within the ACSE timeout ({acse_timeout:g} s)"
        )
    if not attempt.connected:
        if attempt.tls:
            return PacsUnreachable(
                f"could not open a TLS connection to {where} (refused, or certificate rejected)"
            )
        return PacsUnreachable(f"could not open a TCP connection to {where}")
    if attempt.aborted and attempt.answered and not attempt.contexts_accepted:
        return AssociationAborted(f"{where} accepted none of the DICOM services this request proposed")
    if attempt.aborted and attempt.tls:
        return AssociationAborted(
            f"{where} closed the TLS connection during negotiation (client certificate refused?)"
        )
    if attempt.aborted:
        return AssociationAborted(f"{where} aborted the association during negotiation")
    return PacsTimeout(f"{where} did not answer the association request in time")


def service_not_accepted(where: str, abstract_syntax: str) -> AssociationRejected:
    return AssociationRejected(f"{where} did not accept the service {abstract_syntax}")


def silent(where: str, *, deadline_reached: bool, dimse_timeout: float) -> PacsTimeout:
    """Nothing arrived: the overall deadline or the DIMSE timeout ran out first."""
    if deadline_reached:
        return PacsTimeout(f"{where} did not finish within the query deadline")
    return PacsTimeout(f"{where} sent nothing for the DIMSE timeout ({dimse_timeout:g} s)")


def closed(where: str, *, before_any_answer: bool) -> AssociationAborted:
    """The association ended under an operation (the PACS aborted, or the connection closed)."""
    kind = Dropped if before_any_answer else AnswerCutShort
    return kind(f"{where} aborted the association mid-operation")


def stray_message(where: str) -> AssociationAborted:
    return AssociationAborted(f"{where} sent a message that answers no request of ours")


def no_status(where: str) -> AssociationAborted:
    return AssociationAborted(f"{where} sent a response without a status")


def describe_status(code: int) -> str:
    """A human description of a failure status code."""
    if code in _MEANINGS:
        return _MEANINGS[code]
    if 0xC000 <= code <= 0xCFFF:
        return "unable to process"
    return "failure"


def check_echo_status(code: int) -> None:
    """Raise unless a C-ECHO response is Success."""
    if code != SUCCESS:
        raise QueryFailed(f"C-ECHO failed with status 0x{code:04X} ({describe_status(code)})", code)


def check_find_status(code: int, *, cancelled: bool) -> None:
    """Raise unless a final C-FIND response is Success (or Cancel, after we asked for it).

    Warnings (0xB000-0xBFFF) still carry a complete answer and pass.
    """
    if code == SUCCESS or (code == CANCEL and cancelled) or 0xB000 <= code <= 0xBFFF:
        return
    if code == CANCEL:
        raise QueryFailed("the PACS cancelled the C-FIND (status 0xFE00)", code)
    raise QueryFailed(f"C-FIND failed with status 0x{code:04X} ({describe_status(code)})", code)


def check_retrieve_status(operation: str, code: int, *, partial_ok: bool) -> None:
    """Raise unless a final C-GET or C-MOVE response is Success, or a warning after some instances.

    A warning (0xB000: some sub-operations failed) still delivered what it could, so it passes when
    anything arrived; the counts say what failed.
    """
    if code == SUCCESS or (0xB000 <= code <= 0xBFFF and partial_ok):
        return
    if code == CANCEL:
        raise QueryFailed(f"the PACS cancelled the {operation} (status 0xFE00)", code)
    if operation == "C-GET" and code == 0xA702 and not partial_ok:
        raise QueryFailed(
            "C-GET failed with status 0xA702: the PACS could not send the instance in any transfer syntax "
            "this server proposed (a PACS that cannot transcode, such as DCMTK's dcmqrscp, sends only "
            "in the syntax of the first context it accepts for the SOP class)",
            code,
        )
    if code == 0xA801:
        raise QueryFailed(
            f"{operation} failed with status 0xA801 (move destination unknown): the PACS does not know "
            "the destination's AE title, or could not connect to it; the PACS administrator must "
            "register it, and the destination must be running",
            code,
        )
    raise QueryFailed(f"{operation} failed with status 0x{code:04X} ({describe_status(code)})", code)
