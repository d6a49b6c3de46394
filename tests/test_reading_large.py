"""An instance larger than the byte cap: its header is read without its pixel data, from every PACS.

A 104 MB ultrasound cine (testbeds/large.py, past the default cap of 64 MiB) and its two-frame twin
sit in an Orthanc and a dcmqrscp of this module's own. A service with the default cap reads the
cine's header by C-GET from both, by C-MOVE to its receiver from both, and from Orthanc's WADO-RS
metadata: the header holds what the twin's does (Rows, Columns, Number of Frames, ...), says the
pixel data was not retrieved, comes quickly and in bounded memory (each route on a service of its
own, watched by testbeds.watch), and the audit record says how the read stopped. render_image of
the cine's last frame is read from the C-GET's or C-MOVE's stream, keeping that frame only, or
from Orthanc's WADO-RS metadata and that frame; the twin is read whole, as any instance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from testbeds.large import COLUMNS, FRAMES, ROWS, Cine, write_cines
from testbeds.net import free_port
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service, service_env
from testbeds.store import Destination
from testbeds.watch import MiB, assert_contained, probe
from tests.reading_beds import audit_records

pytestmark = pytest.mark.anyio
logger = logging.getLogger(__name__)

AE_TITLE: Final = "MCPLARGE"
# route: (node, how the audit record says the read stopped)
ROUTES: Final = {
    "orthanc C-GET": (None, "the C-GET's association was aborted"),
    "dcmqrscp C-GET": ("dcmqrscp", "the C-GET's association was aborted"),
    "orthanc C-MOVE": ("orthanc-move", "the PACS's C-STORE association to the receiver was aborted"),
    "dcmqrscp C-MOVE": ("dcmqrscp-move", "the PACS's C-STORE association to the receiver was aborted"),
    "orthanc WADO-RS": ("web", "read from the WADO-RS metadata"),
}
SECONDS: Final = 15.0  # the header of the 104 MB instance, answered within this (on a loaded machine)
CAP: Final = 64 * MiB  # DICOM_MCP_MAX_RETRIEVE_BYTES, left at its default


@dataclass(frozen=True)
class Beds:
    cine: Cine
    twin: Cine
    orthanc: RunningPacs
    dcmqrscp: RunningPacs
    receiver: Destination


@pytest.fixture(scope="module")
def beds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Beds]:
    folder = tmp_path_factory.mktemp("large-instances")
    cine, twin = write_cines(folder / "data")
    receiver = Destination(AE_TITLE, "127.0.0.1", free_port())
    with (
        run_orthanc(folder / "orthanc", folder / "data", move_destinations=[receiver]) as orthanc,
        run_dcmqrscp(folder / "dcmqrscp", folder / "data", move_destinations=[receiver]) as dcmqrscp,
    ):
        assert orthanc.instance_count == dcmqrscp.instance_count == 2
        yield Beds(cine, twin, orthanc, dcmqrscp, receiver)


def nodes_file(path: Path, beds: Beds) -> Path:
    orthanc, dcmqrscp = beds.orthanc, beds.dcmqrscp
    assert orthanc.dicomweb_url is not None
    path.write_text(
        f'[nodes.dcmqrscp]\nhost = "{dcmqrscp.host}"\nport = {dcmqrscp.port}\nae_title = "{dcmqrscp.ae_title}"\n\n'
        f'[nodes.dcmqrscp-move]\nhost = "{dcmqrscp.host}"\nport = {dcmqrscp.port}\n'
        f'ae_title = "{dcmqrscp.ae_title}"\nretrieve = "move"\n\n'
        f'[nodes.orthanc-move]\nhost = "{orthanc.host}"\nport = {orthanc.port}\n'
        f'ae_title = "{orthanc.ae_title}"\nretrieve = "move"\n\n'
        f'[nodes.web]\nprotocol = "dicomweb"\nurl = "{orthanc.dicomweb_url}"\nlocal_matching = true\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def service(beds: Beds, tmp_path: Path) -> Iterator[RunningService]:
    """A service of the test's own (its peak RSS is the test's), with the default byte cap."""
    pacs = {
        "DICOM_HOST": beds.orthanc.host,
        "DICOM_PORT": str(beds.orthanc.port),
        "DICOM_CALLED_AE_TITLE": beds.orthanc.ae_title,
        "DICOM_AE_TITLE": AE_TITLE,
    }
    env = service_env(
        pacs,
        nodes_file=str(nodes_file(tmp_path / "nodes.toml", beds)),
        audit_log=str(tmp_path / "audit.jsonl"),
        receiver_port=str(beds.receiver.port),
    )
    with run_service(tmp_path, env) as running:
        yield running


@pytest.mark.parametrize("route", ROUTES)
async def test_the_header_of_an_instance_past_the_cap_is_read_without_its_pixel_data(
    beds: Beds, service: RunningService, tmp_path: Path, route: str
) -> None:
    node, how = ROUTES[route]
    web = route.endswith("WADO-RS")
    # The twin first, read whole as any instance: its header to compare, and the service warmed up.
    before = await probe(service, "get_instance_metadata", node=node, sop_instance_uid=beds.twin.sop)
    twin = dict(before.result.structured_content or {})
    watched = await probe(service, "get_instance_metadata", node=node, sop_instance_uid=beds.cine.sop)
    grew = watched.peak_rss - before.peak_rss
    logger.info("%s, header of the cine: %s; peak RSS grew %.1f MiB", route, watched.measured(), grew / MiB)
    assert_contained(watched)
    # Over DIMSE nothing past the header is held; WADO-RS reads up to the cap before the metadata.
    assert watched.seconds < SECONDS and grew < (CAP + 32 * MiB if web else 16 * MiB), watched.measured()
    assert not watched.result.is_error, str(watched)
    header = dict(watched.result.structured_content or {})
    attributes = header["attributes"]
    assert (attributes["Rows"], attributes["Columns"], attributes["NumberOfFrames"]) == (
        ROWS,
        COLUMNS,
        FRAMES,
    )
    assert (attributes["SamplesPerPixel"], attributes["PhotometricInterpretation"]) == (3, "RGB")
    assert header["sop_instance_uid"] == beds.cine.sop
    assert header["note"].startswith("pixel data not retrieved: the instance is larger than the byte cap")
    size = None if web else beds.cine.pixel_bytes
    assert attributes["PixelData"] == {"bulk_data": True, "vr": "OB", "bytes": size}
    # Everything else is what the twin's header says.
    assert twin.get("note") is None
    assert twin["attributes"]["PixelData"] == {"bulk_data": True, "vr": "OB", "bytes": beds.twin.pixel_bytes}
    differ = {"SOPInstanceUID", "NumberOfFrames", "InstanceNumber", "PixelData"}
    assert {k: v for k, v in attributes.items() if k not in differ} == {
        k: v for k, v in twin["attributes"].items() if k not in differ
    }
    if not web:
        assert header["transfer_syntax"] == twin["transfer_syntax"] == "Explicit VR Little Endian"
    whole, cut = audit_records(tmp_path, "get_instance_metadata")
    assert "pixel_data" not in whole
    assert cut["outcome"] == "success" and how in cut["pixel_data"], cut


@pytest.mark.parametrize("route", ROUTES)
async def test_a_frame_of_an_instance_past_the_cap_is_read_alone(
    beds: Beds, service: RunningService, route: str
) -> None:
    node, _ = ROUTES[route]
    watched = await probe(service, "render_image", node=node, sop_instance_uid=beds.cine.sop, frame=FRAMES)
    logger.info("%s, render_image of the cine's last frame: %s", route, watched.measured())
    assert_contained(watched)
    assert not watched.result.is_error, str(watched)
    summary = watched.result.structured_content or {}
    assert (summary["frame"], summary["number_of_frames"]) == (FRAMES, FRAMES)
