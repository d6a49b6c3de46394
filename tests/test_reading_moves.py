"""Moving a study or a series (C-MOVE) through the real service, from Orthanc, dcmqrscp and the sample PACS.

Instances land in the tests' storage SCP, which every PACS knows as MCPSTORE and the service as
the node `workstation`, the only one marked `move_destination = true`. Other names are refused
before any socket opens, and so are callers without the `dicom:move` permission. The sample PACS
of `--demo` (in this process, loaded with the same data set) must move exactly as the others do;
the service reaches it as an ad-hoc target its allowlist admits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from pydicom import dcmread

from dicom_mcp.demo import SamplePacs, start_sample_pacs
from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.pacs import Catalog, RunningPacs
from testbeds.service import RunningService, run_service
from testbeds.store import StoreScp
from tests.reading_beds import DESTINATION, aimed_at, audit_records, reading_env
from tests.security.tokens import Issuer

pytestmark = pytest.mark.anyio

AUDIENCE = "https://dicom-mcp.test/mcp"
KEYS = {  # principal: (token, permissions field as written in the file)
    "reader": ("reader-token-0123456789", ""),
    "viewer": ("viewer-token-0123456789", "dicom:read"),
    "mover": ("mover-token-0123456789", "dicom:read,dicom:move"),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("moves")


@pytest.fixture(scope="module")
def sample_pacs(pacs_catalog: Catalog, move_destination: StoreScp) -> Iterator[SamplePacs]:
    """The sample PACS, serving the test data set, with the storage SCP as its one move destination."""
    to = move_destination.destination
    datasets = (dcmread(path) for path in pacs_catalog.files())
    with start_sample_pacs(datasets, move_destinations={to.ae_title: (to.host, to.port)}) as running:
        yield running


@pytest.fixture(scope="module")
def service(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    sample_pacs: SamplePacs,
    move_destination: StoreScp,
    workdir: Path,
) -> Iterator[RunningService]:
    allowed = f"{sample_pacs.host}:{sample_pacs.port}"
    env = reading_env(workdir, orthanc, dcmqrscp, move_destination, allowed_targets=allowed)
    with run_service(workdir, env) as running:
        yield running


@pytest.fixture(params=["orthanc", "dcmqrscp", "demo"])
def pacs(request: pytest.FixtureRequest) -> RunningPacs | SamplePacs:
    """Each real PACS in turn, then the sample PACS."""
    return request.getfixturevalue("sample_pacs" if request.param == "demo" else request.param)  # type: ignore[no-any-return]


async def aimed(client: Client, pacs: RunningPacs | SamplePacs) -> dict[str, str]:
    """The arguments that send a call to `pacs`: `aimed_at`'s, or a session on the sample PACS."""
    if isinstance(pacs, SamplePacs):
        configured = await call_ok(
            client, "configure_dicom_server", host=pacs.host, port=pacs.port, ae_title=pacs.ae_title
        )
        return {"session": str(configured["session"])}
    return await aimed_at(client, pacs)


@pytest.fixture
def store(move_destination: StoreScp) -> StoreScp:
    """The move destination, with nothing received yet."""
    move_destination.clear()
    return move_destination


def uids_of_study(catalog: Catalog, study_uid: str) -> set[str]:
    return {
        i.sop_uid
        for s in catalog.series_for_study(study_uid)
        for i in catalog.instances_for_series(s.series_uid)
    }


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_move_study_lands_every_instance_at_the_destination(
    service: RunningService, pacs: RunningPacs | SamplePacs, pacs_catalog: Catalog, store: StoreScp, mode: str
) -> None:
    study = pacs_catalog.report_study
    expected = uids_of_study(pacs_catalog, study.study_uid)
    async with mcp_client(service.mcp_url, mode) as client:
        moved = await call_ok(
            client,
            "move_study",
            study_instance_uid=study.study_uid,
            destination=DESTINATION,
            **await aimed(client, pacs),
        )
    assert moved == {
        "destination": DESTINATION,
        "completed": pacs_catalog.study_instance_count(study.study_uid),
        "failed": 0,
        "warning": 0,
        "status": "0x0000",
    }
    received = store.received(pacs.ae_title)
    assert len(received) == len(expected) == 5
    assert set(received) == expected


@pytest.mark.parametrize("with_study", [False, True])
async def test_move_series_sends_only_that_series(
    service: RunningService,
    pacs: RunningPacs | SamplePacs,
    pacs_catalog: Catalog,
    store: StoreScp,
    with_study: bool,
) -> None:
    series = pacs_catalog.series_for_study(pacs_catalog.study_by_accession("ACC3001").study_uid)[0]
    known = {"study_instance_uid": series.study_uid} if with_study else {}
    async with mcp_client(service.mcp_url, "modern") as client:
        moved = await call_ok(
            client,
            "move_series",
            series_instance_uid=series.series_uid,
            destination=DESTINATION,
            **known,
            **await aimed(client, pacs),
        )
    assert (moved["completed"], moved["failed"], moved["status"]) == (series.instance_count, 0, "0x0000")
    assert sorted(store.received(pacs.ae_title)) == sorted(
        i.sop_uid for i in pacs_catalog.instances_for_series(series.series_uid)
    )


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_progress_notifications_reach_a_client_that_asks(
    service: RunningService, pacs: RunningPacs | SamplePacs, pacs_catalog: Catalog, store: StoreScp, mode: str
) -> None:
    study = pacs_catalog.study_by_accession("ACC3001")  # PET-CT: 8 instances
    total = pacs_catalog.study_instance_count(study.study_uid)
    updates: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, of: float | None, message: str | None) -> None:
        updates.append((progress, of))

    async with mcp_client(service.mcp_url, mode) as client:
        target = await aimed(client, pacs)
        result = await client.call_tool(
            "move_study",
            {"study_instance_uid": study.study_uid, "destination": DESTINATION, **target},
            progress_callback=on_progress,
        )
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["completed"] == total
    assert len(updates) >= total - 1  # one per pending response; the final response carries no progress
    assert all(of == total for _, of in updates)
    done = [progress for progress, _ in updates]
    assert done == sorted(done) and done[0] >= 1 and done[-1] <= total
    assert len(store.received(pacs.ae_title)) == total


@pytest.mark.parametrize(
    ("destination", "why"),
    [
        ("nowhere", "an unknown name"),
        ("dcmqrscp", "a named node not marked as a move destination"),
        ("default", "the default PACS"),
        ("127.0.0.1:104", "a raw address"),
        ("MCPSTORE", "the destination's AE title instead of its node name"),
    ],
)
async def test_other_destinations_are_refused_before_any_socket_opens(
    service: RunningService,
    orthanc: RunningPacs,
    pacs_catalog: Catalog,
    store: StoreScp,
    workdir: Path,
    destination: str,
    why: str,
) -> None:
    study = pacs_catalog.report_study
    async with mcp_client(service.mcp_url, "modern") as client:
        message = await call_error(
            client, "move_study", study_instance_uid=study.study_uid, destination=destination
        )
        series = pacs_catalog.series_for_study(study.study_uid)[0]
        series_message = await call_error(
            client, "move_series", series_instance_uid=series.series_uid, destination=destination
        )
    expected = (
        f"move refused: {destination!r} is not a registered move destination; registered: {DESTINATION}"
    )
    assert message == series_message == expected, why
    assert store.received(orthanc.ae_title) == []
    record = audit_records(workdir, "move_study")[-1]
    assert (record["event"], record["outcome"], record["error"]) == ("move", "error", expected)
    assert "node" not in record  # refused before a PACS was even chosen


async def test_moves_are_audited_with_destination_and_counts(
    service: RunningService,
    pacs: RunningPacs | SamplePacs,
    pacs_catalog: Catalog,
    store: StoreScp,
    workdir: Path,
) -> None:
    study = pacs_catalog.study_for_series(pacs_catalog.large_series.series_uid)
    scout = pacs_catalog.series_for_study(study.study_uid)[0]
    async with mcp_client(service.mcp_url, "modern") as client:
        await call_ok(
            client,
            "move_series",
            series_instance_uid=scout.series_uid,
            destination=DESTINATION,
            **await aimed(client, pacs),
        )
    record = audit_records(workdir, "move_series")[-1]
    assert record["event"] == "move"
    assert record["event_id"] == {"code": "110104", "system": "DCM", "meaning": "DICOM Instances Transferred"}
    assert (record["destination"], record["destination_ae_title"]) == (
        DESTINATION,
        store.destination.ae_title,
    )
    assert (record["completed"], record["failed"], record["warning"]) == (scout.instance_count, 0, 0)
    assert record["keys"] == {"study_instance_uid": study.study_uid, "series_instance_uid": scout.series_uid}
    assert (record["outcome"], record["called_ae_title"]) == ("success", pacs.ae_title)


# --- permissions --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer.create()


@pytest.fixture(scope="module")
def guarded(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    issuer: Issuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    """A service that wants a bearer token: API keys (with and without permissions) and OAuth."""
    workdir = tmp_path_factory.mktemp("guarded-moves")
    keys = workdir / "api-keys"
    lines = ["# principal sha256-of-token [permissions]"]
    for principal, (token, permissions) in KEYS.items():
        lines.append(f"{principal} {hashlib.sha256(token.encode()).hexdigest()} {permissions}".rstrip())
    keys.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = reading_env(
        workdir,
        orthanc,
        dcmqrscp,
        move_destination,
        api_keys_file=str(keys),
        oauth_jwks=str(issuer.write_jwks(workdir / "jwks.json")),
        oauth_issuer=issuer.issuer,
        oauth_audience=AUDIENCE,
    )
    with run_service(workdir, env) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("principal", ["reader", "viewer"])
async def test_an_api_key_without_the_move_permission_may_read_but_not_move(
    guarded: RunningService, pacs_catalog: Catalog, store: StoreScp, orthanc: RunningPacs, principal: str
) -> None:
    study = pacs_catalog.report_study
    async with mcp_client(guarded.mcp_url, "modern", headers=bearer(KEYS[principal][0])) as client:
        message = await call_error(
            client, "move_study", study_instance_uid=study.study_uid, destination=DESTINATION
        )
        reports = await call_ok(client, "read_report", study_instance_uid=study.study_uid)
    assert message == "move refused: moving studies needs the dicom:move permission, which this caller lacks"
    assert len(reports["reports"]) == 2
    assert store.received(orthanc.ae_title) == []


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_an_api_key_with_the_move_permission_moves(
    guarded: RunningService, pacs_catalog: Catalog, store: StoreScp, orthanc: RunningPacs, mode: str
) -> None:
    study = pacs_catalog.report_study
    async with mcp_client(guarded.mcp_url, mode, headers=bearer(KEYS["mover"][0])) as client:
        moved = await call_ok(
            client, "move_study", study_instance_uid=study.study_uid, destination=DESTINATION
        )
        refused = await call_error(
            client, "move_study", study_instance_uid=study.study_uid, destination="dcmqrscp"
        )
    assert moved["completed"] == pacs_catalog.study_instance_count(study.study_uid)
    assert refused.startswith("move refused: 'dcmqrscp' is not a registered move destination")
    assert len(store.received(orthanc.ae_title)) == moved["completed"]


@pytest.mark.parametrize(("scope", "allowed"), [("dicom:read", False), ("dicom:read dicom:move", True)])
async def test_an_oauth_token_moves_only_with_the_move_scope(
    guarded: RunningService,
    issuer: Issuer,
    pacs_catalog: Catalog,
    store: StoreScp,
    orthanc: RunningPacs,
    scope: str,
    allowed: bool,
) -> None:
    series = pacs_catalog.series_with_content("sr")[0]
    token = issuer.token("dr.house", AUDIENCE, scope=scope)
    async with mcp_client(guarded.mcp_url, "modern", headers=bearer(token)) as client:
        result = await client.call_tool(
            "move_series", {"series_instance_uid": series.series_uid, "destination": DESTINATION}
        )
    assert result.is_error is not allowed, result.content
    assert len(store.received(orthanc.ae_title)) == (1 if allowed else 0)
