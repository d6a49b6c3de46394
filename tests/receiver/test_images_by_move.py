"""Images in compressed transfer syntaxes, multi-frame, MONOCHROME1 and RGB, read by C-MOVE from an
Orthanc that refuses C-GET, render to the PNG a C-GET from an Orthanc holding the same files gives.

Orthanc sends an instance in the syntax it stores, so the receiver must accept each syntax the
reading pipeline decodes. The images of testbeds.images live in PACS of their own, as in
tests/test_render_image.py (the shared beds keep the query data set exact).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from testbeds import images
from testbeds.net import free_port
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service, service_env
from testbeds.store import Destination
from tests.receiver.beds import answer

pytestmark = pytest.mark.anyio

SYNTAXES = (ExplicitVRLittleEndian, RLELossless, JPEGLSLossless, JPEG2000Lossless)
AE_TITLE = "MCPIMAGES"


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The image files' directory, and each image's SOP Instance UID by name."""
    directory = tmp_path_factory.mktemp("images")
    written = {f"ct {UID(s).name}": images.encoded(images.ct(), s) for s in SYNTAXES}
    written |= {"mono1": images.monochrome1(), "frames": images.multiframe(), "rgb": images.rgb()}
    for n, ds in enumerate(written.values()):
        images.write(ds, directory / f"{n}.dcm")
    return directory, {name: str(ds.SOPInstanceUID) for name, ds in written.items()}


@pytest.fixture(scope="module")
def services(
    instances: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, RunningService]]:
    """A service reading the images by C-MOVE, and one reading the same files by C-GET."""
    directory, _ = instances
    receiver = Destination(AE_TITLE, "127.0.0.1", free_port())
    workdir = tmp_path_factory.mktemp("images-by-move")
    with (
        run_orthanc(workdir / "noget", directory, move_destinations=[receiver], disable_get=True) as noget,
        run_orthanc(workdir / "get", directory) as plain,
    ):
        by_move = service_env(
            {
                "DICOM_HOST": noget.host,
                "DICOM_PORT": str(noget.port),
                "DICOM_CALLED_AE_TITLE": noget.ae_title,
                "DICOM_AE_TITLE": AE_TITLE,
                "DICOM_RETRIEVE": "move",
            },
            receiver_port=str(receiver.port),
        )
        by_get = service_env(
            {"DICOM_HOST": plain.host, "DICOM_PORT": str(plain.port), "DICOM_CALLED_AE_TITLE": plain.ae_title}
        )
        with run_service(workdir, by_move) as mover, run_service(workdir, by_get) as reference:
            yield mover, reference


@pytest.mark.parametrize(
    ("name", "frame"),
    [*((f"ct {UID(s).name}", 1) for s in SYNTAXES), ("mono1", 1), ("frames", 3), ("rgb", 1)],
)
async def test_an_image_read_by_move_renders_as_by_get(
    services: tuple[RunningService, RunningService],
    instances: tuple[Path, dict[str, str]],
    name: str,
    frame: int,
) -> None:
    mover, reference = services
    uid = instances[1][name]
    moved = await answer(mover, "orthanc", "render_image", sop_instance_uid=uid, frame=frame)
    assert not moved.is_error, moved.text
    assert moved.structured is not None
    if name.startswith("ct"):  # sent as stored: the receiver took the syntax Orthanc holds it in
        assert moved.structured["transfer_syntax"] == name.removeprefix("ct ")
    assert moved == await answer(reference, "orthanc", "render_image", sop_instance_uid=uid, frame=frame)
