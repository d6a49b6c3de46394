"""A hostile PACS sends too many bytes: an instance that inflates to a GiB, a 1 GiB C-STORE, ten 58 MB frames.

Each case starts its own service with the hostile PACS as its default PACS and watches it
(testbeds.watch): the service refuses at its caps, within the bound, in bounded memory, and
without stalling other callers.
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
