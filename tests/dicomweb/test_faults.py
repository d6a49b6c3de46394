"""A DICOMweb archive that fails: each failure is one typed error with a clear, patient-free message.

The archive is `testbeds.dicomweb`'s in-process HTTP server, one behaviour per path; the client
under test is the service's own, over real sockets.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from dicom_mcp.dicomweb.client import DicomWebClient
from dicom_mcp.dimse.client import ClientConfig
from dicom_mcp.errors import (
    AccessRefused,
    AnswerCutShort,
    AssociationAborted,
    ConfigurationError,
    MalformedAnswer,
    PacsBusy,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
    RetrieveTooLarge,
)
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import Query, build_query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.target import Target, WebSettings
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.sandbox.jobs import parsed
from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.state.limits.leases import RedisLeases
from dicom_mcp.transport.server import build_server
from testbeds.clients import call_error, call_ok
from testbeds.dicomweb import (
    INSTANCE_UID,
    PASSWORD,
    STUDY_UIDS,
    TOKEN,
    USERNAME,
    FaultArchive,
    run_fault_archive,
)
from testbeds.net import free_port
from testbeds.poll import until_async
from testbeds.redis import RedisServer

pytestmark = pytest.mark.anyio
CONFIG = ClientConfig(calling_ae_title="MCPTEST", connect_timeout=2, network_timeout=0.5, query_deadline=3)
STUDIES = Query(
    Level.STUDY, (), ("StudyInstanceUID", "PatientName", "PatientID", "NumberOfStudyRelatedInstances")
)
INSTANCE = Keys(STUDY_UIDS[0], STUDY_UIDS[0] + ".1", INSTANCE_UID)


@pytest.fixture(scope="module")
def archive() -> Iterator[FaultArchive]:
    with run_fault_archive() as running:
        yield running


@pytest.fixture
async def client() -> Iterator[DicomWebClient]:
    web = DicomWebClient(CONFIG)
    yield web  # type: ignore[misc]
    await web.aclose()


def node(url: str, name: str = "flaky", max_connections: int | None = None, **web: object) -> Target:
    return Target(
        "127.0.0.1", 0, "", name=name, max_associations=max_connections, web=WebSettings(url, **web)
    )  # type: ignore[arg-type]


async def test_matches_come_back_as_cfind_would_give_them(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    found = await client.find(node(archive.url("ok")), STUDIES, 10)
    assert found.matches[0] == {
        "StudyInstanceUID": STUDY_UIDS[0],
        "PatientName": "DOE^JANE1",
        "PatientID": "WEB1",
        "NumberOfStudyRelatedInstances": 1,
    }
    assert (len(found.matches), found.truncated) == (3, False)


async def test_one_more_than_the_limit_is_asked_for_to_tell_truncated(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    capped = await client.find(node(archive.url("ok")), STUDIES, 2)
    exact = await client.find(node(archive.url("ok")), STUDIES, 3)
    assert (len(capped.matches), capped.truncated, len(exact.matches), exact.truncated) == (2, True, 3, False)
    assert [dict(r.params)["limit"] for r in archive.hits("ok")[-2:]] == ["3", "4"]
    assert dict(archive.hits("ok")[-1].params)["includefield"] == "0020000D,00100010,00100020,00201208"


async def test_an_archive_that_says_it_left_results_out_is_paged(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    every = await client.find(node(archive.url("paged")), STUDIES, 10)
    two = await client.find(node(archive.url("paged")), STUDIES, 2)
    assert ([m["StudyInstanceUID"] for m in every.matches], every.truncated) == (list(STUDY_UIDS), False)
    assert (len(two.matches), two.truncated) == (2, True)
    assert [dict(r.params).get("offset") for r in archive.hits("paged")[:3]] == [None, "1", "2"]


async def test_connections_are_kept_alive_between_operations(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    before = archive.connections
    target = node(archive.url("ok"), name="keepalive")
    for _ in range(5):
        await client.find(target, STUDIES, 1)
    await client.echo(target)
    assert archive.connections - before == 1


async def test_an_archive_that_is_down_is_unreachable(client: DicomWebClient) -> None:
    with pytest.raises(PacsUnreachable, match=r"could not open a connection to node 'flaky' \(DICOMweb\)"):
        await client.echo(node(f"http://127.0.0.1:{free_port()}/dicom-web"))


async def test_a_silent_archive_times_out_on_the_network_timeout(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    started = time.monotonic()
    with pytest.raises(PacsTimeout, match=r"sent nothing for the read timeout \(0.5 s\)"):
        await client.find(node(archive.url("slow")), STUDIES, 10)
    assert time.monotonic() - started < 2


async def test_a_trickling_archive_hits_the_overall_deadline(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    started = time.monotonic()
    # A body byte every 0.2 s: each read is within the 0.5 s read timeout, the whole never is.
    with pytest.raises(PacsTimeout, match=r"did not finish within the query deadline \(0.8 s\)"):
        await client.echo(node(archive.url("trickle")), deadline=0.8)
    assert 0.7 < time.monotonic() - started < 1.8


async def test_refused_credentials_say_so(client: DicomWebClient, archive: FaultArchive) -> None:
    with pytest.raises(
        AccessRefused, match=r"refused our credentials \(HTTP 401\): check the node's token_file"
    ):
        await client.find(node(archive.url("auth")), STUDIES, 10)
    with pytest.raises(AccessRefused, match=r"refused access with our credentials \(HTTP 403\)"):
        await client.find(node(archive.url("forbidden")), STUDIES, 10)


async def test_bearer_and_basic_credentials_come_from_files(
    client: DicomWebClient, archive: FaultArchive, tmp_path: Path
) -> None:
    token, password = tmp_path / "token", tmp_path / "password"
    token.write_text(f"{TOKEN}\n", encoding="utf-8")
    password.write_text(PASSWORD, encoding="utf-8")
    bearer = node(archive.url("auth"), name="bearer", token_file=token)
    basic = node(archive.url("auth"), name="basic", username=USERNAME, password_file=password)
    assert len((await client.find(bearer, STUDIES, 10)).matches) == 3
    assert len((await client.find(basic, STUDIES, 10)).matches) == 3
    token.write_text("rotated", encoding="utf-8")  # a rotated secret is read again
    with pytest.raises(AccessRefused):
        await client.find(bearer, STUDIES, 10)
    assert archive.hits("auth")[-1].headers["authorization"] == "Bearer rotated"
    token.unlink()
    with pytest.raises(ConfigurationError, match="node 'bearer': its token_file cannot be read"):
        await client.find(bearer, STUDIES, 10)


async def test_a_server_error_names_the_status_not_the_body(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    with pytest.raises(
        QueryFailed, match=r"node 'flaky' \(DICOMweb\) answered HTTP 500: it failed"
    ) as caught:
        await client.find(node(archive.url("error")), STUDIES, 10)
    assert (caught.value.status, "DOE" in str(caught.value)) == (500, False)


@pytest.mark.parametrize("behaviour", ["malformed", "notalist"])
async def test_an_answer_that_is_not_dicom_json_is_malformed(
    client: DicomWebClient, archive: FaultArchive, behaviour: str
) -> None:
    with pytest.raises(MalformedAnswer, match="sent an answer that is not valid DICOM JSON"):
        await client.find(node(archive.url(behaviour)), STUDIES, 10)


async def test_a_multipart_body_cut_short_is_not_a_smaller_answer(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    (instance,) = await client.get(node(archive.url("ok")), INSTANCE, (), Budget(10**6))
    assert parsed(instance.data, instance.syntax).SOPInstanceUID == INSTANCE_UID
    with pytest.raises(AnswerCutShort, match="ended its answer before the last part"):
        await client.get(node(archive.url("cut")), INSTANCE, (), Budget(10**6))


async def test_a_connection_closed_mid_answer_is_cut_short(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    with pytest.raises(AssociationAborted, match="closed the connection before its answer was complete"):
        await client.find(node(archive.url("dropped")), STUDIES, 10)


async def test_a_retrieve_past_the_byte_cap_is_too_large(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    with pytest.raises(RetrieveTooLarge, match="passed the cap of 100 bytes per call"):
        await client.get(node(archive.url("ok")), INSTANCE, (), Budget(100))


async def test_busy_answers_are_retried_as_the_archive_asks(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    found = await client.find(node(archive.url("busy")), STUDIES, 10)
    assert (len(found.matches), len(archive.hits("busy"))) == (3, 3)


async def test_a_retry_after_past_the_deadline_is_busy_at_once(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    started = time.monotonic()
    with pytest.raises(PacsBusy, match="asked for a wait of 3600 s, past the query deadline"):
        await client.find(node(archive.url("overloaded")), STUDIES, 10)
    assert time.monotonic() - started < 1


async def test_a_redirect_is_not_followed(client: DicomWebClient, archive: FaultArchive) -> None:
    with pytest.raises(QueryFailed, match=r"redirected the request \(HTTP 302\)"):
        await client.echo(node(archive.url("redirect")))


async def test_a_missing_instance_is_no_instance(client: DicomWebClient, archive: FaultArchive) -> None:
    assert await client.get(node(archive.url("nowhere")), INSTANCE, (), Budget(10**6)) == []


async def test_the_node_limit_bounds_operations_in_flight(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    archive.release.clear()
    target = node(archive.url("slow"), name="narrow", max_connections=1)
    slow = ClientConfig(calling_ae_title="T", network_timeout=10, query_deadline=10)
    narrow = DicomWebClient(slow)
    seen = len(archive.hits("slow"))
    results: list[int] = []

    async def one() -> None:
        results.append(len((await narrow.find(target, STUDIES, 10)).matches))

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(one)
            tasks.start_soon(one)
            await until_async(lambda: len(archive.hits("slow")) == seen + 1, what="first request")
            # Every task has gone as far as it can: the first waits for its answer; the second,
            # were it not held at the limit, would have started its exchange (in_flight 2).
            await anyio.wait_all_tasks_blocked()
            assert (len(archive.hits("slow")), narrow.in_flight) == (seen + 1, 1)
            archive.release.set()
    finally:
        archive.release.set()
        await narrow.aclose()
    assert results == [3, 3]


async def test_the_node_limit_holds_across_replicas_sharing_redis(
    archive: FaultArchive, redis_db: RedisServer
) -> None:
    archive.release.clear()
    target = node(archive.url("slow"), name="narrow", max_connections=1)
    slow = ClientConfig(calling_ae_title="T", network_timeout=10, query_deadline=10)
    leases = [RedisLeases(redis_db.url, 5), RedisLeases(redis_db.url, 5)]  # one per "replica"
    replicas = [DicomWebClient(slow, slots=shared) for shared in leases]
    seen = len(archive.hits("slow"))
    results: list[int] = []

    async def one(replica: DicomWebClient) -> None:
        results.append(len((await replica.find(target, STUDIES, 10)).matches))

    try:
        async with anyio.create_task_group() as tasks:
            for replica in replicas:
                tasks.start_soon(one, replica)
            await until_async(lambda: len(archive.hits("slow")) == seen + 1, what="first request")
            # Redis refused the other replica a slot: it waits in the queue, holding none.
            await until_async(lambda: sum(shared.waiting for shared in leases) == 1, what="a waiter")
            assert sum(shared.held for shared in leases) == 1
            assert len(archive.hits("slow")) == seen + 1  # the other replica waits for the slot
            archive.release.set()
    finally:
        archive.release.set()
        for replica in replicas:
            await replica.aclose()
        for shared in leases:
            shared.close()
    assert results == [3, 3]
    assert sum(shared.held for shared in leases) == 0


async def test_shutdown_stops_running_operations(archive: FaultArchive) -> None:
    archive.release.clear()
    patient = DicomWebClient(ClientConfig(calling_ae_title="T", network_timeout=10, query_deadline=10))
    errors: list[Exception] = []

    async def one() -> None:
        try:
            await patient.find(node(archive.url("slow"), name="stopping"), STUDIES, 10)
        except AssociationAborted as exc:
            errors.append(exc)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(one)
            await until_async(lambda: patient.in_flight == 1, what="a running operation")
            assert await anyio.to_thread.run_sync(patient.abort_all) == 1
    finally:
        archive.release.set()
        await patient.aclose()
    assert [str(e) for e in errors] == ["the service is shutting down; the operation was stopped"]


async def test_query_values_travel_in_the_url_percent_encoded(
    client: DicomWebClient, archive: FaultArchive
) -> None:
    query = build_query(Level.PATIENT, {"PatientName": ("name_pattern", "Müller^J*")}, "minimal", None, None)
    await client.find(node(archive.url("ok")), query, 5)
    assert archive.hits("ok")[-1].query.startswith(
        "PatientName=M%C3%BCller%5EJ*&includefield=00100020,00100010&"
    )


@pytest.fixture
async def tools(archive: FaultArchive, tmp_path: Path) -> AsyncIterator[Client]:
    """The service, with a DICOMweb node per behaviour of the fault archive."""
    nodes = tmp_path / "nodes.toml"
    nodes.write_text(
        "".join(
            f'[nodes.{name}]\nprotocol = "dicomweb"\nurl = "{url}"\n'
            for name, url in (
                ("ok", archive.url("ok")),
                ("locked", archive.url("auth")),
                ("broken", archive.url("error")),
                ("down", f"http://127.0.0.1:{free_port()}/dicom-web"),
            )
        ),
        encoding="utf-8",
    )
    settings = Settings(
        dicom_host="127.0.0.1",
        dicom_port=free_port(),
        dicom_called_ae_title="NOBODY",
        nodes_file=nodes,
        connect_timeout=2,
        network_timeout=1,
        query_deadline=5,
        _env_file=None,  # type: ignore[call-arg]
    )
    services = build_services(settings)
    try:
        async with Client(build_server(services)) as client:
            yield client
    finally:
        await services.aclose()


async def session_on(client: Client, node: str) -> str:
    return str((await call_ok(client, "configure_dicom_server", node=node))["session"])


async def test_verify_connection_reports_a_dicomweb_failure(tools: Client) -> None:
    ok = await call_ok(tools, "verify_connection", session=await session_on(tools, "ok"))
    down = await call_ok(tools, "verify_connection", session=await session_on(tools, "down"))
    assert (ok["success"], ok["message"]) == (True, "node 'ok' (DICOMweb) answered a QIDO-RS search")
    assert (down["success"], down["round_trip_ms"]) == (False, None)
    assert down["message"] == (
        "a QIDO-RS search failed: could not open a connection to node 'down' (DICOMweb) "
        "(refused, no route, or TLS rejected)"
    )


async def test_archive_failures_are_tool_errors_that_name_their_cause(tools: Client) -> None:
    locked = await call_error(tools, "query_studies", session=await session_on(tools, "locked"))
    broken = await call_error(tools, "query_studies", session=await session_on(tools, "broken"))
    assert locked.startswith(
        "PACS error (AccessRefused): node 'locked' (DICOMweb) refused our credentials (HTTP 401)"
    )
    assert broken == "PACS error (QueryFailed): node 'broken' (DICOMweb) answered HTTP 500: it failed"
