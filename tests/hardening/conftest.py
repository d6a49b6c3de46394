"""Hostile peers, through the real service over HTTP: what the hardening modules share.

The hostile PACS is testbeds.hostile_pacs, made the service's default PACS by `serving`. A heavy
case starts its own service (so its peak RSS is the case's) and watches it with testbeds.watch.
The light cases share one service for the whole package, `light`, over one catalogue: an image,
reports and images the PACS sends another patient's instance before or instead of, a deep SR
beside a good one, images the pipeline may not show, and a viewer series with one of those in it.

Nothing of the other patient (testbeds.bombs' canaries) may reach a result about ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import pytest
from mcp_types import CallToolResult

from testbeds import bombs
from testbeds.bombs import CANARY_PATIENT, CANARY_TEXT, RIGHT_TEXT, Place
from testbeds.clients import call_ok, mcp_client
from testbeds.hostile_pacs import HostilePacs, Listed, listed, run_hostile_pacs
from testbeds.service import RunningService, run_service, service_env

PARSE_TIMEOUT: Final = "5"  # seconds the service's sandbox may parse one instance

# The light catalogue: where each case's instances sit.
OTHER: Final = Place.make(90)  # the other patient's study
IMAGE: Final = Place.make(10)
REPORT_AFTER_OTHER, REPORT_ONLY_OTHER, REPORT_MISFILED = Place.make(11), Place.make(12), Place.make(13)
IMAGE_AFTER_OTHER, IMAGE_MISFILED = Place.make(14), Place.make(15)
DEEP: Final = Place.make(16)
BAD_IMAGES: Final = {
    "palette without LUT": (bombs.palette_without_lut, Place.make(17, 1, 1)),
    "BitsAllocated 1": (bombs.one_bit, Place.make(17, 1, 2)),
    "bogus VOI LUT descriptor": (bombs.bogus_voi_lut, Place.make(17, 1, 3)),
}
VIEWER: Final = Place.make(18)  # instances 1, 2 and 4 render; 3 is a palette without its LUT


@contextmanager
def serving(
    workdir: Path, entries: Iterable[Listed], parse_timeout: str = PARSE_TIMEOUT
) -> Iterator[tuple[HostilePacs, RunningService]]:
    """The hostile PACS with `entries`, and a service whose default PACS it is."""
    with run_hostile_pacs(entries) as pacs:
        env = service_env(pacs.env, parse_timeout=parse_timeout)
        with run_service(workdir, env) as service:
            yield pacs, service


def misfiled(place: Place) -> Place:
    """The SOP Instance UID of `place`, in the other patient's study."""
    return Place(OTHER.study, OTHER.series, place.sop)


def light_catalogue(folder: Path) -> list[Listed]:
    """Every light case's instances; the other patient's are only ever sent, never listed."""
    other_report = bombs.sr_report(OTHER, CANARY_TEXT, CANARY_PATIENT)
    other_image = bombs.small_image(OTHER.sibling(2), patient=CANARY_PATIENT)
    misfiled_report = bombs.sr_report(misfiled(REPORT_MISFILED), CANARY_TEXT, CANARY_PATIENT)
    misfiled_image = bombs.small_image(misfiled(IMAGE_MISFILED), patient=CANARY_PATIENT)
    viewer_series = [bombs.small_image(VIEWER.sibling(n), n) for n in (1, 2, 4)]
    return [
        listed(bombs.small_image(IMAGE)),
        listed(bombs.sr_report(REPORT_AFTER_OTHER, RIGHT_TEXT), before=[other_report]),
        listed(bombs.sr_report(REPORT_ONLY_OTHER, RIGHT_TEXT), instead=other_report),
        listed(bombs.sr_report(REPORT_MISFILED, RIGHT_TEXT), instead=misfiled_report),
        listed(bombs.small_image(IMAGE_AFTER_OTHER), before=[other_image]),
        listed(bombs.small_image(IMAGE_MISFILED), instead=misfiled_image),
        listed(bombs.deep_sr(folder, DEEP)),
        listed(bombs.sr_report(DEEP.sibling(2), RIGHT_TEXT)),
        *(listed(make(place)) for make, place in BAD_IMAGES.values()),
        *(listed(instance) for instance in viewer_series),
        listed(bombs.palette_without_lut(VIEWER.sibling(3), 3)),
    ]


@pytest.fixture(scope="package")
def light(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostilePacs, RunningService]]:
    """The hostile PACS serving the light catalogue, and the one service of the light cases."""
    folder = tmp_path_factory.mktemp("hostile-pacs")
    with serving(folder, light_catalogue(folder)) as running:
        yield running


@pytest.fixture
def light_service(light: tuple[HostilePacs, RunningService]) -> RunningService:
    return light[1]


async def call(
    service: RunningService, tool: str, *, node: str | None = None, **arguments: Any
) -> CallToolResult:
    """One call of `tool` on a fresh client; with `node`, in a session configured for that node."""
    async with mcp_client(service.mcp_url, "modern") as client:
        if node is not None:
            arguments["session"] = (await call_ok(client, "configure_dicom_server", node=node))["session"]
        return await client.call_tool(tool, arguments)


def canary_free(result: CallToolResult) -> str:
    """The whole result as JSON, checked to hold nothing of the other patient."""
    dumped = result.model_dump_json()
    assert "canary" not in dumped.lower(), dumped[:2000]
    return dumped


def assert_clear(message: str) -> None:
    """A tool error a caller can act on: never the catch-all, never pydantic's own text."""
    assert "internal error" not in message, message
    assert "Error executing tool" not in message, message
    assert "pydantic" not in message, message
