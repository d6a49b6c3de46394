"""Which way a PACS is read: when a failed C-GET means "no C-GET here", and what "auto" remembers.

A PACS refuses C-GET by not accepting its presentation context, by a refusal status (0x0122,
0x0124) or by aborting before any instance; other failures of one C-GET say nothing about C-GET itself.
"get" never reads by C-MOVE, "move" always does, and "auto" does for a target once C-GET was
refused there, for that target's address only, and for a while.
"""

from __future__ import annotations

import time

import pytest

from dicom_mcp.dimse import by_move
from dicom_mcp.dimse.by_move import Modes, not_offered, refuses_get
from dicom_mcp.dimse.failures import closed, service_not_accepted
from dicom_mcp.errors import (
    AssociationAborted,
    AssociationRejected,
    PacsError,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
)
from dicom_mcp.model.retrievals import STUDY_ROOT_GET, STUDY_ROOT_MOVE
from dicom_mcp.model.target import Target

WHERE = "node 'archive' (ARCHIVE)"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.mark.parametrize(
    ("failure", "refused"),
    [
        (service_not_accepted(WHERE, STUDY_ROOT_GET), True),
        (service_not_accepted(WHERE, STUDY_ROOT_MOVE), False),
        (service_not_accepted(WHERE, CT_IMAGE), False),
        (
            AssociationRejected(
                f"{WHERE} rejected the association (permanent, called AE title not recognised)"
            ),
            False,
        ),
        (QueryFailed("C-GET failed with status 0x0122", 0x0122), True),
        (QueryFailed("C-GET failed with status 0x0124", 0x0124), True),
        (QueryFailed("C-GET failed with status 0xA701", 0xA701), False),  # cannot count matches: a failure
        (QueryFailed("C-GET failed with status 0xA702", 0xA702), False),
        (QueryFailed("C-GET failed with status 0xC000", 0xC000), False),
        (QueryFailed("the PACS cancelled the C-GET (status 0xFE00)", 0xFE00), False),
        (closed(WHERE, before_any_answer=True), True),  # Orthanc, when C-GET is not allowed to us
        (AssociationAborted(f"{WHERE} accepted none of the DICOM services this request proposed"), True),
        (PacsTimeout(f"{WHERE} did not finish within the query deadline"), False),
        (PacsUnreachable(f"could not open a TCP connection to {WHERE}"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, PacsError) else str(value),
)
def test_which_failed_c_gets_mean_the_pacs_refuses_c_get(failure: PacsError, refused: bool) -> None:
    assert refuses_get(failure) is refused


def test_an_abort_after_instances_arrived_is_not_a_refusal_of_c_get() -> None:
    # The contract: "an abort before any instance". A PACS that restarts, or a network that
    # drops, in the middle of a series has shown that it offers C-GET; "auto" must not switch
    # that node to C-MOVE for REMEMBER_SECONDS because of it.
    assert not refuses_get(closed(WHERE, before_any_answer=False))


def test_not_offered_says_what_to_set_and_names_the_node() -> None:
    message = not_offered(Target("pacs.example", 104, "ARCHIVE", name="archive"))
    assert "node 'archive' (ARCHIVE)" in message
    assert "does not offer C-GET" in message
    assert "DICOM_MCP_RECEIVER_PORT" in message
    assert "pacs.example" not in message  # a named node's address stays unsaid


# --- Modes -------------------------------------------------------------------------------------


def target(retrieve: str, host: str = "10.0.0.5", port: int = 104, name: str | None = "archive") -> Target:
    return Target(host, port, "ARCHIVE", name=name, retrieve=retrieve)  # type: ignore[arg-type]


def test_get_is_never_read_by_move_even_after_a_refusal() -> None:
    modes = Modes()
    assert not modes.by_move(target("get"))
    modes.learnt_get_refused(target("get"))
    assert not modes.by_move(target("get"))


def test_move_is_always_read_by_move() -> None:
    assert Modes().by_move(target("move"))


def test_auto_reads_by_get_until_a_refusal_is_learnt() -> None:
    modes = Modes()
    assert not modes.by_move(target("auto"))
    modes.learnt_get_refused(target("auto"))
    assert modes.by_move(target("auto"))


def test_what_auto_learnt_holds_for_that_address_only() -> None:
    modes = Modes()
    modes.learnt_get_refused(target("auto"))
    assert modes.by_move(target("auto", name=None))  # same host and port: same PACS
    assert not modes.by_move(target("auto", port=105))
    assert not modes.by_move(target("auto", host="10.0.0.6"))


def test_a_host_name_is_one_pacs_whatever_its_case() -> None:
    modes = Modes()
    modes.learnt_get_refused(target("auto", host="pacs.example"))
    assert modes.by_move(target("auto", host="PACS.Example"))


def test_modes_are_per_client() -> None:
    one, other = Modes(), Modes()
    one.learnt_get_refused(target("auto"))
    assert not other.by_move(target("auto"))


def test_auto_tries_c_get_again_once_the_memory_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(by_move, "REMEMBER_SECONDS", 0.05)
    modes = Modes()
    modes.learnt_get_refused(target("auto"))
    assert modes.by_move(target("auto"))
    deadline = time.monotonic() + 5
    while modes.by_move(target("auto")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not modes.by_move(target("auto"))
