"""A hostile DICOMweb archive, through the real service over HTTP: bombs, deep JSON, mixed-up reports.

The archive is testbeds.hostile_web: each route is a node of the service, answering what the
test hands it. Each heavy case starts its own service and watches the call (testbeds.watch): it
answers within its bound, in bounded memory, without stalling other callers, or the service is
killed. The mixed-up reports share one service, a node per WADO-RS answer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import pytest

from testbeds import bombs
from testbeds.bombs import CANARY_PATIENT, CANARY_TEXT, RAW_DATA, RIGHT_TEXT, Place
from testbeds.hostile_web import (
    OTHER_PLACE,
    PLACE,
    HostileWeb,
    empty_parts,
    gzip_bomb,
    located,
    multipart,
    nested_json,
    qido_body,
    run_hostile_web,
)
from testbeds.net import free_port
from testbeds.service import RunningService, run_service, service_env
from testbeds.watch import MiB, assert_contained, probe, text_of
from tests.hardening.conftest import PARSE_TIMEOUT, assert_clear, call, canary_free

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def web() -> Iterator[HostileWeb]:
    with run_hostile_web() as running:
        yield running


@contextmanager
def hostile_service(workdir: Path, web: HostileWeb, *routes: str) -> Iterator[RunningService]:
    """The service, with a DICOMweb node per route of `web` (named as the route); no reachable PACS."""
    nodes = workdir / "nodes.toml"
    nodes.write_text(
        "".join(f'[nodes.{name}]\nprotocol = "dicomweb"\nurl = "{web.url(name)}"\n\n' for name in routes),
        encoding="utf-8",
    )
    dead = {"DICOM_HOST": "127.0.0.1", "DICOM_PORT": str(free_port()), "DICOM_CALLED_AE_TITLE": "NOWHERE"}
    env = service_env(dead, nodes_file=str(nodes), parse_timeout=PARSE_TIMEOUT)
    with run_service(workdir, env) as service:
        yield service


def retrievals(web: HostileWeb, route: str) -> int:
    """WADO-RS requests for PLACE's instance on `route`."""
    return sum(
        count for path, count in web.hits.items() if path.startswith(route + "/") and path.endswith(PLACE.sop)
    )


# --- bombs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["render_image", "get_instance_metadata"])
async def test_an_instance_that_inflates_to_a_gibibyte_is_refused_at_the_cap(
    web: HostileWeb, tmp_path: Path, tool: str
) -> None:
    bomb = bombs.deflated_part10(PLACE, sop_class=RAW_DATA)
    web.serve("inflate", qido=located(RAW_DATA, "OT"), wado=multipart([bomb]))
    asked = retrievals(web, "inflate")
    with hostile_service(tmp_path, web, "inflate") as service:
        watched = await probe(service, tool, node="inflate", bound=30, sop_instance_uid=PLACE.sop)
    assert_contained(watched, 30)
    if tool == "render_image":
        assert "passed the cap of" in watched.error(), str(watched)
    else:  # a header is read from the instance's metadata instead (here, what every search answers)
        assert not watched.result.is_error, str(watched)
        assert "WADO-RS metadata" in str((watched.result.structured_content or {}).get("note")), str(watched)
    assert retrievals(web, "inflate") == asked + 1, "the bomb was asked for again"


async def test_a_gzip_bomb_answering_a_search_is_refused_within_the_limits_cap(
    web: HostileWeb, tmp_path: Path
) -> None:
    web.serve("gzip-bomb", qido=qido_body(gzip_bomb(), gzipped=True))
    with hostile_service(tmp_path, web, "gzip-bomb") as service:
        watched = await probe(service, "query_studies", node="gzip-bomb", bound=10, limit=10)
    assert_contained(watched, 10)
    assert "QIDO-RS" in watched.error(), str(watched)
    assert web.requests_to("gzip-bomb") == 1, "the bomb was asked for again"


async def test_a_million_empty_parts_are_a_clear_error_soon(web: HostileWeb, tmp_path: Path) -> None:
    web.serve("empty-parts", qido=located(), wado=empty_parts())
    with hostile_service(tmp_path, web, "empty-parts") as service:
        watched = await probe(
            service, "get_instance_metadata", node="empty-parts", bound=30, sop_instance_uid=PLACE.sop
        )
    assert_contained(watched, 30)
    assert_clear(watched.error())


async def test_json_nested_two_hundred_thousand_deep_is_a_clear_error(
    web: HostileWeb, tmp_path: Path
) -> None:
    web.serve("nested", qido=qido_body(nested_json()))
    with hostile_service(tmp_path, web, "nested") as service:
        watched = await probe(service, "query_studies", node="nested", bound=30, limit=10)
    assert_contained(watched, 30)
    message = watched.error()
    assert_clear(message)
    assert "QIDO-RS" in message or "DICOM JSON" in message, str(watched)


# --- another patient's instance in a WADO-RS answer -----------------------------------------------

RIGHT_SR: Final = bombs.part10(bombs.sr_report(PLACE, RIGHT_TEXT))
OTHER_SR: Final = bombs.part10(bombs.sr_report(OTHER_PLACE, CANARY_TEXT, CANARY_PATIENT))
# The asked-for SOP Instance UID, in another patient's study.
MISFILED: Final = Place(OTHER_PLACE.study, OTHER_PLACE.series, PLACE.sop)
MISFILED_SR: Final = bombs.part10(bombs.sr_report(MISFILED, CANARY_TEXT, CANARY_PATIENT))


@pytest.fixture(scope="module")
def mixed_service(web: HostileWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the light cases, a node per WADO-RS answer."""
    web.serve("other-first", qido=located(), wado=multipart([OTHER_SR, RIGHT_SR]))
    web.serve("only-other", qido=located(), wado=multipart([OTHER_SR]))
    web.serve("misfiled", qido=located(), wado=multipart([MISFILED_SR]))
    workdir = tmp_path_factory.mktemp("hostile-web")
    with hostile_service(workdir, web, "other-first", "only-other", "misfiled") as service:
        yield service


async def answered(service: RunningService, node: str, tool: str, **arguments: Any) -> dict[str, Any]:
    """A call on `node` that must succeed, holding nothing of the other patient; its structured content."""
    result = await call(service, tool, node=node, **arguments)
    canary_free(result)
    assert not result.is_error and result.structured_content is not None, result.content
    return dict(result.structured_content)


async def test_a_report_comes_from_the_asked_instance_not_the_first_part(
    mixed_service: RunningService,
) -> None:
    reports = (await answered(mixed_service, "other-first", "read_report", study_instance_uid=PLACE.study))[
        "reports"
    ]
    assert [(r["sop_instance_uid"], RIGHT_TEXT in r["text"]) for r in reports] == [(PLACE.sop, True)]


async def test_a_report_answered_only_by_another_patients_instance_is_never_read(
    mixed_service: RunningService,
) -> None:
    result = await answered(mixed_service, "only-other", "read_report", study_instance_uid=PLACE.study)
    assert all(r["kind"] == "unreadable" for r in result["reports"])


async def test_the_header_is_the_asked_instances_when_another_comes_first(
    mixed_service: RunningService,
) -> None:
    header = await answered(mixed_service, "other-first", "get_instance_metadata", sop_instance_uid=PLACE.sop)
    assert header["sop_instance_uid"] == PLACE.sop
    assert header["attributes"]["StudyInstanceUID"] == PLACE.study


async def test_an_instance_from_another_study_than_located_is_refused(
    mixed_service: RunningService,
) -> None:
    result = await call(mixed_service, "get_instance_metadata", node="misfiled", sop_instance_uid=PLACE.sop)
    canary_free(result)
    assert result.is_error and "does not belong" in text_of(result), text_of(result)


# --- the test bed's own claims --------------------------------------------------------------------


def inflated_size(compressed: bytes, wbits: int) -> int:
    """How many bytes `compressed` inflates to, counted a chunk at a time."""
    inflater, size, pending = zlib.decompressobj(wbits), 0, compressed
    while pending:
        size += len(inflater.decompress(pending, MiB))
        pending = inflater.unconsumed_tail
    return size + len(inflater.flush())


def test_the_bombs_are_small_and_inflate_to_what_they_say() -> None:
    gzipped = gzip_bomb()
    bomb = bombs.deflated_part10(PLACE, sop_class=RAW_DATA)
    dataset_start = 132 + 12 + int.from_bytes(bomb[140:144], "little")  # after the meta group
    assert len(gzipped) < 300_000 and inflated_size(gzipped, 31) >= 250 * MiB - MiB
    assert len(bomb) < 2 * MiB and inflated_size(bomb[dataset_start:], -15) > 1024 * MiB
