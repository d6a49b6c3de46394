"""render_image through the real service, over HTTP and stdio, against Orthanc and dcmqrscp.

The generated images of testbeds.images, stored in several transfer syntaxes, are loaded into a
PACS of their own (the shared beds keep the query data set exact). Each rendered PNG is
compared with the grey levels computed from DICOM's formulas in tests/reading/test_image.py.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mcp import Client
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from testbeds import enhanced, images
from testbeds.clients import call_error, mcp_client, stdio_client
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

CT_SYNTAXES = (ExplicitVRLittleEndian, RLELossless, JPEGLSLossless, JPEG2000Lossless)


@dataclass
class Loaded:
    """The image instances written for the beds, by name."""

    directory: Path
    instances: dict[str, Dataset]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    directory = tmp_path_factory.mktemp("images")
    instances = {f"ct-{UID(s).name}": images.encoded(images.ct(), s) for s in CT_SYNTAXES}
    instances |= {"mono1": images.monochrome1(), "frames": images.multiframe(), "rgb": images.rgb()}
    instances |= {"enhanced-ct": enhanced.enhanced_ct(), "classic-ct": enhanced.classic_ct()}
    for name, ds in instances.items():
        images.write(ds, directory / f"{len(name)}-{abs(sum(map(ord, name)))}.dcm")
    return Loaded(directory, instances)


@pytest.fixture(scope="module", params=["orthanc", "dcmqrscp"])
def image_pacs(
    request: pytest.FixtureRequest, loaded: Loaded, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    run = run_orthanc if request.param == "orthanc" else run_dcmqrscp
    with run(tmp_path_factory.mktemp(f"images-{request.param}"), loaded.directory) as pacs:
        yield pacs


def pacs_env(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


@pytest.fixture(scope="module")
def service(image_pacs: RunningPacs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with run_service(tmp_path_factory.mktemp("render"), service_env(pacs_env(image_pacs))) as running:
        yield running


async def rendered(client: Client, **arguments: object) -> tuple[np.ndarray, dict[str, object]]:
    result = await client.call_tool("render_image", arguments)
    assert not result.is_error, result.content
    image = next(block for block in result.content if block.type == "image")
    assert image.mime_type == "image/png"
    assert result.structured_content is not None
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(image.data)))), dict(result.structured_content)


def bands(arr: np.ndarray) -> list[object]:
    row = arr.shape[0] // 2
    return [arr[row, column].tolist() for column in (16, 48, 80)]


def transcodes(pacs: RunningPacs, syntax: UID) -> bool:
    """Whether `pacs` can send an instance stored in `syntax` (dcmqrscp sends only uncompressed)."""
    return pacs.name == "orthanc" or syntax == ExplicitVRLittleEndian


@pytest.mark.parametrize("syntax", CT_SYNTAXES, ids=lambda s: UID(s).name)
async def test_a_ct_renders_in_its_window_from_the_sop_instance_uid_alone(
    service: RunningService, loaded: Loaded, image_pacs: RunningPacs, syntax: UID
) -> None:
    ds = loaded.instances[f"ct-{UID(syntax).name}"]
    async with mcp_client(service.mcp_url, "modern") as client:
        if not transcodes(image_pacs, syntax):
            message = await call_error(client, "render_image", sop_instance_uid=ds.SOPInstanceUID)
            assert "could not send the instance in any transfer syntax this server proposed" in message
            return
        pixels, summary = await rendered(client, sop_instance_uid=ds.SOPInstanceUID)
    assert bands(pixels) == [0, 102, 255]  # -1000, 0, +1000 HU in window 40/400
    assert summary["window"] == {"center": 40.0, "width": 400.0, "source": "instance"}
    # The PACS sends what it stores, in the context proposed for it: no transcoding needed.
    assert summary["transfer_syntax"] == UID(syntax).name


async def test_the_callers_window_and_size_over_an_older_client(
    service: RunningService, loaded: Loaded
) -> None:
    ds = loaded.instances["ct-Explicit VR Little Endian"]
    async with mcp_client(service.mcp_url, "legacy") as client:
        pixels, summary = await rendered(
            client, sop_instance_uid=ds.SOPInstanceUID, window_center=0, window_width=2000, max_size=48
        )
    assert summary["output_size"] == {"width": 48, "height": 24}
    assert summary["window"] == {"center": 0.0, "width": 2000.0, "source": "call"}
    assert pixels[12, 8] == 0 and pixels[12, 40] == 255


async def test_monochrome1_frames_and_rgb(service: RunningService, loaded: Loaded) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        mono, _ = await rendered(client, sop_instance_uid=loaded.instances["mono1"].SOPInstanceUID)
        third, summary = await rendered(
            client, sop_instance_uid=loaded.instances["frames"].SOPInstanceUID, frame=3
        )
        colour, _ = await rendered(client, sop_instance_uid=loaded.instances["rgb"].SOPInstanceUID)
        beyond = await call_error(
            client, "render_image", sop_instance_uid=loaded.instances["frames"].SOPInstanceUID, frame=4
        )
    assert bands(mono) == [255, 127, 0]
    assert bands(third) == [191] * 3 and summary["number_of_frames"] == 3
    assert bands(colour) == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert beyond == "cannot render: frame 4 does not exist: the instance has 3 frame(s), numbered from 1"


async def test_unknown_instance_and_half_a_window_are_clear_errors(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        unknown = await call_error(client, "render_image", sop_instance_uid="1.2.3.4.5.6.7")
        half = await call_error(client, "render_image", sop_instance_uid="1.2.3", window_center=40)
    assert unknown.startswith("not found: ") and "SOP Instance UID" in unknown
    assert half == "invalid input: window_center and window_width go together: give both, or neither"


async def test_render_over_stdio(image_pacs: RunningPacs, loaded: Loaded) -> None:
    ds = loaded.instances["ct-Explicit VR Little Endian"]
    async with stdio_client(service_env(pacs_env(image_pacs))) as client:
        pixels, _ = await rendered(client, sop_instance_uid=ds.SOPInstanceUID)
    assert bands(pixels) == [0, 102, 255]


def hounsfield_grey(hu: float, center: float, width: float) -> int:
    """The standard's window formula (PS3.3 C.11.2.1.2) for one value, in 8 bits."""
    return int(np.clip(np.rint(((hu - (center - 0.5)) / (width - 1) + 0.5) * 255), 0, 255))


@pytest.mark.parametrize("frame", [1, 2, 3])
async def test_each_frame_of_an_enhanced_ct_is_shown_in_hounsfield_units_in_its_own_window(
    service: RunningService, loaded: Loaded, frame: int
) -> None:
    uid = loaded.instances["enhanced-ct"].SOPInstanceUID
    async with mcp_client(service.mcp_url, "modern") as client:
        pixels, summary = await rendered(client, sop_instance_uid=uid, frame=frame)
    center, width = enhanced.CT_WINDOWS[frame - 1]
    shift = enhanced.STEP * (frame - 1)
    assert bands(pixels) == [hounsfield_grey(hu + shift, center, width) for hu in (-1000, 0, 1000)]
    assert summary["window"] == {
        "center": center,
        "width": width,
        "source": "instance (per-frame functional groups)",
    }
    assert summary["rescale"] == {
        "intercept": -1024.0,
        "slope": 1.0,
        "type": "HU",
        "source": "shared functional groups",
    }
    assert summary["number_of_frames"] == 3
    assert summary["frame_content"] == {
        "stack_id": "1",
        "in_stack_position": frame,
        "temporal_position": 1,
        "dimension_index": [1, frame],
    }


async def test_an_enhanced_ct_renders_as_its_classic_equivalent_over_stdio(
    image_pacs: RunningPacs, loaded: Loaded
) -> None:
    async with stdio_client(service_env(pacs_env(image_pacs))) as client:
        from_groups, _ = await rendered(
            client, sop_instance_uid=loaded.instances["enhanced-ct"].SOPInstanceUID
        )
        classic, _ = await rendered(client, sop_instance_uid=loaded.instances["classic-ct"].SOPInstanceUID)
        # The case: a caller's 40/400 shows water (0 HU) mid-grey, not white.
        called, _ = await rendered(
            client,
            sop_instance_uid=loaded.instances["enhanced-ct"].SOPInstanceUID,
            window_center=40,
            window_width=400,
        )
    assert np.array_equal(from_groups, classic)
    assert bands(called) == [0, hounsfield_grey(0, 40, 400), 255]
