"""A PACS whose C-MOVE misbehaves: the receiver keeps only what its retrieval asked for, and a
retrieval that gets nothing ends in a bounded, clear error; the service goes on answering.

The fake PACS of testbeds/move_faults.py, one per behaviour, are named nodes (`retrieve = "move"`)
of one service whose receiver listens as FAULT_AE; each fake sends its C-STOREs there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from testbeds.faults import FAULT_SERIES_UID
from testbeds.move_faults import (
    FakeMovePacs,
    MoveHandler,
    fake_move_pacs,
    forges_first,
    never_answers,
    sends_also,
    sends_nothing,
    sends_to,
)
from testbeds.net import free_port
from testbeds.service import RunningService, run_service, service_env
from testbeds.store import Destination, run_store_scp
from tests.receiver.beds import Answer, answer, is_refusal, refused

pytestmark = pytest.mark.anyio

FAULT_AE = "MCPFAULTS"
DEADLINE = 3.0  # DICOM_MCP_QUERY_DEADLINE of the service below
SLACK = 3.0  # the C-FIND look-up, the abort, HTTP and scheduling on a loaded machine
ASKED = f"{FAULT_SERIES_UID}.1"
EXTRA = f"{FAULT_SERIES_UID}.99"


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeMovePacs]]:
    """The fake PACS by node name, all sending to FAULT_AE's receiver."""
    receiver = Destination(FAULT_AE, "127.0.0.1", free_port())
    with ExitStack() as stack:
        sink = stack.enter_context(run_store_scp("ELSEWHERE"))
        behaviours: dict[str, tuple[MoveHandler, str | None]] = {
            "healthy": (sends_also(), None),
            "extra": (sends_also(EXTRA), None),
            "forger": (forges_first, None),
            "empty": (sends_nothing, None),
            "elsewhere": (sends_to(sink.destination), None),
            "silent": (never_answers, None),
            "stranger": (sends_also(), "SOMEONE"),
        }
        yield {
            name: stack.enter_context(fake_move_pacs(handler, receiver, originator=originator))
            for name, (handler, originator) in behaviours.items()
        }


@pytest.fixture(scope="module")
def service(
    fakes: dict[str, FakeMovePacs], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("receiver-faults")
    nodes = workdir / "nodes.toml"
    nodes.write_text(
        "".join(
            f'[nodes.{name}]\nhost = "{pacs.host}"\nport = {pacs.port}\nae_title = "{pacs.ae_title}"\n'
            'retrieve = "move"\n\n'
            for name, pacs in fakes.items()
        ),
        encoding="utf-8",
    )
    healthy = fakes["healthy"]
    env = service_env(
        {
            "DICOM_HOST": healthy.host,
            "DICOM_PORT": str(healthy.port),
            "DICOM_CALLED_AE_TITLE": healthy.ae_title,
            "DICOM_AE_TITLE": FAULT_AE,
            "DICOM_RETRIEVE": "move",
        },
        nodes_file=str(nodes),
        receiver_port=str(healthy.destination.port),
        query_deadline=str(DEADLINE),
        dimse_timeout="30",  # longer than the deadline: the deadline must be what ends a hung C-MOVE
        audit_log=str(workdir / "audit.jsonl"),
    )
    with run_service(workdir, env) as running:
        yield running


async def read_header(service: RunningService, node: str, uid: str = ASKED) -> tuple[Answer, float]:
    started = time.monotonic()
    result = await answer(service, node, "get_instance_metadata", sop_instance_uid=uid)
    return result, time.monotonic() - started


async def still_answers(service: RunningService) -> None:
    """The healthy PACS is read normally after a fault."""
    header, _ = await read_header(service, "healthy")
    assert not header.is_error, header.text
    assert header.structured is not None
    assert header.structured["attributes"]["PatientID"] == "GENUINE"


async def test_a_healthy_pacs_without_c_get_is_read_by_move(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    before = len(fakes["healthy"].answers)
    await still_answers(service)
    assert fakes["healthy"].answers[before:] == [(ASKED, 0x0000)]


async def test_a_forged_copy_under_another_message_id_is_refused_and_the_genuine_one_kept(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    before = await refused(service)
    header, _ = await read_header(service, "forger")
    assert not header.is_error, header.text
    assert header.structured is not None
    assert header.structured["attributes"]["PatientID"] == "GENUINE"
    (forged, status), genuine = fakes["forger"].answers
    assert forged == ASKED and is_refusal(status), hex(status)
    assert genuine == (ASKED, 0x0000)
    assert await refused(service) - before == 1


async def test_an_instance_nobody_asked_for_is_discarded(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    before = await refused(service)
    header, _ = await read_header(service, "extra")
    assert not header.is_error, header.text
    assert header.structured is not None
    assert header.structured["sop_instance_uid"] == ASKED
    (asked, ok), (extra, status) = fakes["extra"].answers
    assert (asked, ok) == (ASKED, 0x0000)
    assert extra == EXTRA and is_refusal(status), hex(status)
    assert await refused(service) - before == 1


async def test_c_stores_for_another_move_originator_are_refused(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    before = await refused(service)
    header, seconds = await read_header(service, "stranger")
    assert header.is_error
    assert "internal error" not in header.text, header.text
    assert seconds < DEADLINE + SLACK
    ((uid, status),) = fakes["stranger"].answers
    assert uid == ASKED and is_refusal(status), hex(status)
    assert await refused(service) - before == 1
    await still_answers(service)


async def test_a_move_that_reports_success_and_sends_nothing_is_not_found(service: RunningService) -> None:
    header, seconds = await read_header(service, "empty")
    # As a C-GET that sends nothing (tests/test_reading_faults.py).
    assert header.is_error
    assert header.text == "not found: the PACS sent no instance with that SOP Instance UID"
    assert seconds < DEADLINE + SLACK
    await still_answers(service)


async def test_a_move_that_sends_elsewhere_is_a_bounded_clear_error(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    header, seconds = await read_header(service, "elsewhere")
    assert header.is_error
    # It names the node and says that nothing reached the receiver.
    assert "'elsewhere'" in header.text and "receiver" in header.text, header.text
    assert seconds < DEADLINE + SLACK
    assert fakes["elsewhere"].answers == [(ASKED, 0x0000)]  # the PACS did send it, to the wrong place
    await still_answers(service)


async def test_a_move_never_answered_ends_at_the_deadline(
    service: RunningService, fakes: dict[str, FakeMovePacs]
) -> None:
    header, seconds = await read_header(service, "silent")
    assert header.is_error
    assert header.text.startswith("PACS error (PacsTimeout): "), header.text
    assert "did not finish within the query deadline" in header.text
    assert seconds < DEADLINE + SLACK
    assert fakes["silent"].moves == 1
    await still_answers(service)
