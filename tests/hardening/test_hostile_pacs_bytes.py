"""A hostile PACS sends too many bytes: an instance that inflates to a GiB, a 1 GiB C-STORE, ten 58 MB frames.

Each case starts its own service with the hostile PACS as its default PACS and watches it
(testbeds.watch): the service refuses at its caps, within the bound, in bounded memory, and
without stalling other callers. The header of a 1 GiB image is read all the same: up to its
pixel data, whose length its element declares (native) or not (encapsulated, cut at the cap).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testbeds import bombs
from testbeds.bombs import Place
from testbeds.hostile_pacs import listed
from testbeds.watch import assert_contained, probe
from tests.hardening.conftest import serving

pytestmark = [pytest.mark.anyio, pytest.mark.service]


@pytest.mark.parametrize("tool", ["get_instance_metadata", "render_image"])
async def test_an_instance_that_inflates_to_a_gibibyte_is_refused_at_the_cap(
    tmp_path: Path, tool: str
) -> None:
    bomb = bombs.deflated_bomb(tmp_path, Place.make(23))
    with serving(tmp_path, [listed(bomb)]) as (_, service):
        watched = await probe(service, tool, sop_instance_uid=bomb.place.sop)
    assert_contained(watched)
    assert "passed the cap of" in watched.error(), str(watched)


async def test_a_one_gibibyte_c_store_is_refused_at_the_cap(tmp_path: Path) -> None:
    huge = bombs.huge_instance(tmp_path, Place.make(24))
    with serving(tmp_path, [listed(huge)]) as (_, service):
        watched = await probe(service, "get_instance_metadata", sop_instance_uid=huge.place.sop)
    assert_contained(watched)
    assert "passed the cap of" in watched.error(), str(watched)


async def test_viewer_frames_of_ten_large_instances_stop_at_the_call_budget(tmp_path: Path) -> None:
    series = [bombs.large_ct(tmp_path, Place.make(26, 1, n), number=n) for n in range(1, 11)]
    where = series[0].place
    # The one frame within the budget is a real 5400x5400 render: give it time on a loaded machine.
    with serving(tmp_path, [listed(ct) for ct in series], parse_timeout="30") as (_, service):
        watched = await probe(
            service,
            "viewer_frames",
            bound=45,
            study_instance_uid=where.study,
            series_instance_uid=where.series,
            start=0,
            count=10,
        )
    assert_contained(watched, 45)
    result = dict(watched.result.structured_content or {})
    assert not watched.result.is_error, str(watched)
    reasons = [skipped["reason"] for skipped in result["skipped"]]
    assert reasons, f"every frame was retrieved: {watched}"
    assert all("budget" in reason or "passed the cap of" in reason for reason in reasons), reasons


@pytest.mark.parametrize("encoding", ["native", "encapsulated"])
async def test_the_header_of_a_one_gibibyte_image_is_read_up_to_its_pixel_data(
    tmp_path: Path, encoding: str
) -> None:
    place = Place.make(27)
    side = 23200  # 16-bit: 1.08 GB of pixel data
    huge = (
        bombs.large_ct(tmp_path, place, side=side)
        if encoding == "native"
        else bombs.huge_encapsulated(tmp_path, place)
    )
    with serving(tmp_path, [listed(huge)]) as (_, service):
        watched = await probe(service, "get_instance_metadata", sop_instance_uid=place.sop)
        render = await probe(service, "render_image", sop_instance_uid=place.sop)
    assert_contained(watched)
    assert not watched.result.is_error, str(watched)
    header = dict(watched.result.structured_content or {})
    assert header["note"].startswith("pixel data not retrieved"), header
    pixels = header["attributes"]["PixelData"]
    if encoding == "native":
        assert header["attributes"]["Rows"] == side
        assert pixels == {"bulk_data": True, "vr": "OW", "bytes": side * side * 2}
    else:
        assert pixels == {"bulk_data": True, "vr": "OB", "bytes": None}
    assert_contained(render)
    assert "passed the cap of" in render.error(), str(render)
