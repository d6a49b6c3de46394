"""The image built from the repository's Dockerfile, run with podman: it serves, heals, and stays small.

The container runs `--demo` read-only on the host's network (a free port, set by DICOM_MCP_PORT),
and is spoken to as clients would: curl-like requests for health, the SDK's client over HTTP, and
the SDK's client over stdio through `podman run -i`.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from mcp import Client, StdioServerParameters
from PIL import Image
from pydicom.uid import JPEGLSLossless

from dicom_mcp.demo import sample_datasets
from dicom_mcp.reading.image import render
from testbeds.clients import call_ok, mcp_client
from testbeds.container import RunningContainer, podman, require, run_container
from testbeds.service import SERVICE_LOGS

UNPRIVILEGED = 10001
DEMO_NAMES = ["DEMO^ALICE", "DEMO^BRUNO", "DEMO^Zoë", "DEMO^CARLOS", "DEMO^DIANA"]


def inspect_image(tag: str) -> dict[str, Any]:
    (inspected,) = json.loads(podman("image", "inspect", tag).stdout)
    return dict(inspected)


@pytest.fixture(scope="module")
def demo(
    service_image: str, tmp_path_factory: pytest.TempPathFactory, figures: list[str]
) -> Iterator[RunningContainer]:
    """The image serving `--demo`; its log joins the session's patient-data scan."""
    with run_container(service_image, tmp_path_factory.mktemp("container"), ["--demo"]) as container:
        SERVICE_LOGS.append(container.log_path)
        figures.append(f"container start to a healthy /healthz: {container.started_in:.1f} s")
        yield container
        assert container.stop() == 0


def test_health_and_readiness_answer(demo: RunningContainer) -> None:
    assert httpx.get(f"{demo.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{demo.base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


@pytest.mark.anyio
async def test_a_query_and_a_jpeg_ls_image_through_the_sdk_client(demo: RunningContainer) -> None:
    async with mcp_client(demo.mcp_url, "modern") as client:
        patients = await call_ok(client, "query_patients")
        studies = await call_ok(client, "query_studies", patient_id="DEMO-002")
        (mr,) = studies["matches"]  # type: ignore[misc]
        series = await call_ok(client, "query_series", study_instance_uid=mr["StudyInstanceUID"])
        t1 = series["matches"][0]  # type: ignore[index]
        slices = await call_ok(client, "query_instances", series_instance_uid=t1["SeriesInstanceUID"])
        uid = slices["matches"][4]["SOPInstanceUID"]  # type: ignore[index]
        header = await call_ok(client, "get_instance_metadata", sop_instance_uid=uid)
        image = await client.call_tool("render_image", {"sop_instance_uid": uid})
    assert [p["PatientName"] for p in patients["matches"]] == DEMO_NAMES  # type: ignore[attr-defined]
    assert header["transfer_syntax"] == JPEGLSLossless.name  # decoded in the image by pyjpegls
    assert not image.is_error, image.content
    png = next(block for block in image.content if block.type == "image")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(png.data))))
    # The same pixels as this machine's own rendering of the same sample instance.
    (instance,) = [ds for ds in sample_datasets() if ds.SOPInstanceUID == uid]
    expected = np.asarray(Image.open(io.BytesIO(render(instance).png)))
    assert pixels.shape == expected.shape and pixels.max() > pixels.min()
    assert np.array_equal(pixels, expected)


@pytest.mark.anyio
async def test_a_stdio_session_through_podman_run_i(service_image: str, figures: list[str]) -> None:
    name = f"{service_image.rsplit(':', 1)[1]}-stdio"
    started = time.monotonic()
    args = ["run", "--interactive", "--rm", f"--name=dicom-mcp-test-{name}", "--network=none", service_image]
    params = StdioServerParameters(command=require("podman"), args=[*args, "--transport", "stdio", "--demo"])
    try:
        async with Client(params) as client:
            patients = await call_ok(client, "query_patients")
    finally:
        podman("rm", "--force", f"dicom-mcp-test-{name}", check=False)
    figures.append(f"stdio session (podman run -i, --demo, one query): {time.monotonic() - started:.1f} s")
    assert [p["PatientName"] for p in patients["matches"]] == DEMO_NAMES  # type: ignore[attr-defined]


def test_the_healthcheck_passes_on_the_service_and_fails_without_it(
    demo: RunningContainer, service_image: str
) -> None:
    # The service listens on DICOM_MCP_PORT, not 8000: the check follows it.
    assert podman("healthcheck", "run", demo.name, check=False).returncode == 0
    kind, program, *args = inspect_image(service_image)["Healthcheck"]["Test"]
    assert kind == "CMD"
    alone = podman(
        "run", "--rm", "--network=none", f"--entrypoint={program}", service_image, *args, check=False
    )
    assert alone.returncode != 0


def test_the_service_runs_as_the_unprivileged_user(demo: RunningContainer, service_image: str) -> None:
    assert inspect_image(service_image)["Config"]["User"] == str(UNPRIVILEGED)
    status = demo.exec("cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == [str(UNPRIVILEGED)] * 4  # real, effective, saved, file system


def test_the_image_holds_the_installed_package_and_not_the_repository(demo: RunningContainer) -> None:
    where = demo.exec("python", "-c", "import dicom_mcp, sys; print(sys.prefix, dicom_mcp.__file__)")
    prefix, package = where.stdout.split()
    assert prefix == "/opt/dicom-mcp" and package.startswith(f"{prefix}/lib/")  # the venv, not a source tree
    # Neither the sources the build copied (/src, its own stage) nor the tests reach the image.
    repository = shlex.split("( -path /src -o -name testbeds -o -name conftest.py -path */tests/* )")
    outside_packages = ["-not", "-path", "*/site-packages/*"]
    found = demo.exec("find", "/", "-xdev", *repository, *outside_packages, "-print", user="0")
    assert (found.returncode, found.stdout) == (0, "")
    spec = "import importlib.util as u; print([u.find_spec(n) for n in ('tests', 'testbeds')])"
    assert demo.exec("python", "-c", spec).stdout.strip() == "[None, None]"
