"""A hostile PACS sends what is hard to parse: PDF, SR and CDA bombs, codestreams that lie, odd images.

The bombs each get their own service, watched (testbeds.watch): parsing happens off the event
loop, under a deadline and a memory cap, so other callers never stall and the answer is a clear
refusal or an unreadable report. The small cases ask the light service (see conftest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from testbeds import bombs
from testbeds.bombs import RIGHT_TEXT, Place
from testbeds.hostile_pacs import listed
from testbeds.service import RunningService
from testbeds.watch import assert_contained, probe, probe_calls, text_of
from tests.hardening.conftest import BAD_IMAGES, DEEP, VIEWER, assert_clear, call, serving

pytestmark = [pytest.mark.anyio, pytest.mark.service]

LIARS: Final = {"jpeg-ls": bombs.jpegls_liar, "jpeg": bombs.jpeg_liar}


# --- documents ------------------------------------------------------------------------------------


async def test_a_pdf_drawing_one_form_thirty_times_is_unreadable_without_stalling_others(
    tmp_path: Path,
) -> None:
    bomb = bombs.encapsulated_pdf(Place.make(21), bombs.pdf_bomb())
    with serving(tmp_path, [listed(bomb)]) as (_, service):
        watched = await probe(service, "read_report", study_instance_uid=bomb.place.study)
    assert_contained(watched)
    assert not watched.result.is_error, str(watched)
    (report,) = dict(watched.result.structured_content or {})["reports"]
    assert report["kind"] == "unreadable", str(watched)
    assert "took longer than" in report["text"], str(watched)


async def test_an_sr_of_a_million_items_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    bomb = bombs.wide_sr(tmp_path, Place.make(20))
    with serving(tmp_path, [listed(bomb)]) as (_, service):
        watched = await probe(service, "get_instance_metadata", sop_instance_uid=bomb.place.sop)
    assert_contained(watched)
    message = watched.error()
    assert any(cause in message for cause in ("took longer than", "too many", "more memory than")), message


async def test_a_sixty_mib_cda_of_empty_elements_never_stalls_other_callers(tmp_path: Path) -> None:
    bomb = bombs.cda_bomb(tmp_path, Place.make(22))
    with serving(tmp_path, [listed(bomb)]) as (_, service):
        watched = await probe(service, "read_report", study_instance_uid=bomb.place.study)
    assert_contained(watched)
    assert not watched.result.is_error, str(watched)
    (report,) = dict(watched.result.structured_content or {})["reports"]
    assert report["kind"] in ("cda", "unreadable"), str(watched)


async def test_an_sr_nested_three_thousand_deep_is_unreadable_beside_a_good_one(
    light_service: RunningService,
) -> None:
    result = await call(light_service, "read_report", study_instance_uid=DEEP.study)
    assert not result.is_error, text_of(result)
    reports = {r["sop_instance_uid"]: r for r in dict(result.structured_content or {})["reports"]}
    assert RIGHT_TEXT in reports[DEEP.sibling(2).sop]["text"]
    assert reports[DEEP.sop]["kind"] == "unreadable"


# --- codestreams larger than their header ---------------------------------------------------------


@pytest.mark.parametrize("codec", LIARS)
async def test_a_codestream_declaring_more_than_the_header_is_refused(tmp_path: Path, codec: str) -> None:
    liar = LIARS[codec](Place.make(25))
    with serving(tmp_path, [listed(liar)]) as (_, service):
        watched = await probe(service, "render_image", sop_instance_uid=liar.place.sop)
    assert_contained(watched)
    assert "codestream" in watched.error(), str(watched)


async def test_four_lying_codestreams_in_a_row_leave_the_service_small(tmp_path: Path) -> None:
    liars = [bombs.jpegls_liar(Place.make(25, 1, 1)), bombs.jpeg_liar(Place.make(25, 1, 2))]
    calls = [("render_image", {"sop_instance_uid": liar.place.sop}) for liar in liars * 2]
    with serving(tmp_path, [listed(liar) for liar in liars]) as (_, service):
        watched = await probe_calls(service, calls)
    assert_contained(watched)
    for result in watched.results:
        assert result.is_error and "codestream" in text_of(result), str(watched)


# --- images the pipeline may not show -------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_IMAGES)
async def test_an_image_the_pipeline_may_not_show_is_never_an_internal_error(
    light_service: RunningService, kind: str
) -> None:
    result = await call(light_service, "render_image", sop_instance_uid=BAD_IMAGES[kind][1].sop)
    if result.is_error:
        assert_clear(text_of(result))


async def test_the_viewer_shows_a_series_around_an_instance_it_cannot_show(
    light_service: RunningService,
) -> None:
    answer = await call(
        light_service,
        "viewer_frames",
        study_instance_uid=VIEWER.study,
        series_instance_uid=VIEWER.series,
        count=4,
    )
    assert not answer.is_error, text_of(answer)
    result = dict(answer.structured_content or {})
    assert [frame["instance_number"] for frame in result["frames"]] == [1, 2, 4]
    (skipped,) = result["skipped"]
    assert skipped["sop_instance_uid"] == VIEWER.sibling(3).sop and skipped["reason"]
