"""Every way a PACS can fail ends in its own clear error, within its timeout, and the client goes on."""

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import anyio
import pytest
from pynetdicom import AE

from dicom_mcp.dimse.client import ClientConfig, DicomClient
from dicom_mcp.dimse.scu import VERIFICATION
from dicom_mcp.errors import (
    AssociationAborted,
    AssociationRejected,
    IdentifierNotEncodable,
    InvalidQuery,
    PacsBusy,
    PacsError,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
)
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query, build_query
from dicom_mcp.model.target import Target
from testbeds.faults import (
    FaultPacs,
    FindHandler,
    abort_after,
    answers,
    closed_port,
    failure,
    fault_pacs,
    hang,
    silent_peer,
)

pytestmark = pytest.mark.anyio

CONFIG = ClientConfig(
    "MCPSCU", connect_timeout=2, acse_timeout=2, dimse_timeout=1.5, network_timeout=2, query_deadline=3
)
# Where a test waits a timeout out, it runs that timeout short: a fault waited out is real time.
SHORT = 0.5
QUERY = build_query(Level.STUDY, {"PatientID": ("patient_id", "FAULT*")}, "minimal", None, None)


@pytest.fixture
def client() -> DicomClient:
    return DicomClient(CONFIG)


def target_of(pacs: FaultPacs, ae_title: str | None = None) -> Target:
    return Target(pacs.host, pacs.port, ae_title or pacs.ae_title)


@pytest.fixture
def healthy() -> Iterator[FaultPacs]:
    with fault_pacs(answers(2)) as pacs:
        yield pacs


async def expect(
    client: DicomClient, handler: FindHandler, error: type[PacsError], match: str, within: float
) -> PacsError:
    with fault_pacs(handler) as pacs:
        started = time.monotonic()
        with pytest.raises(error, match=match) as caught:
            await client.find(target_of(pacs), QUERY, 10)
        assert time.monotonic() - started < within
    return caught.value


async def test_matches_are_returned_json_safe(client: DicomClient, healthy: FaultPacs) -> None:
    result = await client.find(target_of(healthy), QUERY, 10)
    assert [m["PatientID"] for m in result.matches] == ["FAULT0", "FAULT1"]
    assert result.truncated is False


async def test_limit_sends_c_cancel_and_marks_truncated(client: DicomClient) -> None:
    with fault_pacs(answers(500, delay=0.005)) as pacs:
        result = await client.find(target_of(pacs), QUERY, 5)
        assert len(result.matches) == 5
        assert result.truncated is True
        assert pacs.cancelled.wait(2), "the PACS never saw the C-CANCEL"


async def test_exactly_limit_matches_is_not_truncated(client: DicomClient) -> None:
    with fault_pacs(answers(5)) as pacs:
        result = await client.find(target_of(pacs), QUERY, 5)
    assert (len(result.matches), result.truncated) == (5, False)


async def test_refused_connection_is_unreachable(client: DicomClient) -> None:
    with pytest.raises(PacsUnreachable, match="could not open a TCP connection"):
        await client.find(Target("127.0.0.1", closed_port(), "NOBODY"), QUERY, 10)


async def test_a_host_name_that_does_not_resolve_is_unreachable_not_an_internal_error(
    client: DicomClient,
) -> None:
    with pytest.raises(PacsUnreachable, match="host name does not resolve"):
        await client.echo(Target("no-such-host.invalid", 104, "NOBODY"))


async def test_wrong_called_ae_title_is_rejected_with_its_reason(client: DicomClient) -> None:
    with (
        fault_pacs(answers(1), strict_called_ae=True) as pacs,
        pytest.raises(AssociationRejected, match="Called AE title not recognised"),
    ):
        await client.find(target_of(pacs, "WRONG"), QUERY, 10)


async def test_silent_pacs_times_out_on_dimse_timeout() -> None:
    config = replace(CONFIG, dimse_timeout=SHORT)
    await expect(DicomClient(config), hang, PacsTimeout, "DIMSE timeout", within=config.dimse_timeout + 1.5)


async def test_trickling_pacs_hits_the_overall_deadline() -> None:
    # Each answer comes well within the DIMSE timeout (1.5 s); all of them never within the deadline.
    config = replace(CONFIG, query_deadline=1.0)
    await expect(
        DicomClient(config),
        answers(100, delay=0.2),
        PacsTimeout,
        "query deadline",
        within=config.query_deadline + 1.5,
    )


async def test_abort_mid_query_is_reported(client: DicomClient) -> None:
    await expect(client, abort_after(3), AssociationAborted, "aborted", within=2)


@pytest.mark.parametrize(("code", "meaning"), [(0xC001, "unable to process"), (0xA700, "out of resources")])
async def test_failure_status_names_its_code(client: DicomClient, code: int, meaning: str) -> None:
    error = await expect(client, failure(code), QueryFailed, f"0x{code:04X} \\({meaning}\\)", within=2)
    assert isinstance(error, QueryFailed) and error.status == code


async def test_client_keeps_answering_after_every_fault(healthy: FaultPacs) -> None:
    client = DicomClient(replace(CONFIG, dimse_timeout=SHORT))  # `hang` waits it out
    for handler in (hang, abort_after(1), failure(0xC000)):
        with fault_pacs(handler) as pacs, pytest.raises(PacsError):
            await client.find(target_of(pacs), QUERY, 10)
    assert len((await client.find(target_of(healthy), QUERY, 10)).matches) == 2
    assert client.open_associations == 0


async def test_echo_reports_the_round_trip_it_waited_for(client: DicomClient) -> None:
    with fault_pacs(answers(0), echo_delay=0.1) as slow:  # its C-ECHO answers after 100 ms
        started = time.monotonic()
        round_trip_ms = await client.echo(target_of(slow))
        waited_ms = (time.monotonic() - started) * 1000
    assert 100 <= round_trip_ms <= waited_ms


async def test_busy_pacs_is_reported_when_no_slot_frees_in_time() -> None:
    client = DicomClient(ClientConfig("MCPSCU", dimse_timeout=5, query_deadline=SHORT, max_associations=1))
    with fault_pacs(hang) as pacs:
        errors: list[Exception] = []

        async def attempt() -> None:
            try:
                await client.find(target_of(pacs), QUERY, 10)
            except PacsError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(attempt)
            tg.start_soon(attempt)
    assert sorted(type(e).__name__ for e in errors) == ["PacsBusy", "PacsTimeout"]
    assert any(isinstance(e, PacsBusy) for e in errors)


async def test_transient_rejection_at_the_pacs_limit_is_retried(client: DicomClient) -> None:
    with fault_pacs(answers(1), max_associations=1) as pacs:
        holder = AE(ae_title="HOLDER")
        holder.add_requested_context(VERIFICATION)
        held = holder.associate(pacs.host, pacs.port, ae_title=pacs.ae_title)
        assert held.is_established
        try:
            with pytest.raises(AssociationRejected, match="Transient"):
                await client.find(target_of(pacs), QUERY, 10)  # still held through every retry
        except BaseException:
            held.abort()  # else its requestor thread outlives this test and fails a later one's check
            raise
        threading.Timer(0.1, held.release).start()
        result = await client.find(target_of(pacs), QUERY, 10)  # a retry lands once it is released
    assert len(result.matches) == 1


async def test_pacs_that_never_answers_the_association_request_times_out() -> None:
    config = replace(CONFIG, acse_timeout=SHORT)
    client = DicomClient(config)
    with silent_peer() as port:
        started = time.monotonic()
        with pytest.raises(
            PacsTimeout, match="did not answer the association request within the ACSE timeout"
        ):
            await client.find(Target("127.0.0.1", port, "MUTE"), QUERY, 10)
        elapsed = time.monotonic() - started
    assert config.acse_timeout <= elapsed < config.acse_timeout + 1
    assert client.open_associations == 0


async def test_pacs_that_hangs_up_without_answering_is_not_a_timeout(client: DicomClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(AssociationAborted, match="during negotiation"):
            await client.find(Target("127.0.0.1", server.getsockname()[1], "HANGUP"), QUERY, 10)
    assert time.monotonic() - started < 1


UNENCODABLE = Query(Level.STUDY, (), ("PatientID", "PixelData"))  # past validation, which refuses it


@pytest.mark.parametrize("lifetime", [0.0, 0.5], ids=["fresh", "reused"])
async def test_unencodable_identifier_fails_before_anything_is_sent(lifetime: float) -> None:
    client = DicomClient(replace(CONFIG, association_lifetime=lifetime))
    with fault_pacs(answers(2)) as pacs:
        target = Target(pacs.host, pacs.port, pacs.ae_title, max_associations=1)
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(
                IdentifierNotEncodable, match="attribute PixelData cannot be written"
            ) as caught:
                await client.find(target, UNENCODABLE, 1)
            assert time.monotonic() - started < 0.5
            assert isinstance(caught.value, InvalidQuery)  # the tools report it as invalid input
        assert client.idle_associations == (1 if lifetime else 0)  # clean: kept for reuse, not aborted
        started = time.monotonic()
        assert len((await client.find(target, QUERY, 10)).matches) == 2  # the one slot was handed back
        assert time.monotonic() - started < 0.5
    assert pacs.requests == 1
    assert client.open_associations == 0
