"""deploy/docker-compose.yml, started by podman-compose: Orthanc, the sample-data loader, the service.

The stack runs as the file says, with two substitutions that a machine without an image registry
needs: the images (the service's, built for this session; Orthanc from Debian's package, built
once, in place of the Orthanc team's image: tests/container/orthanc/) and the published host
ports (free ones, in place of 8000, 4242 and 8042). Debian's podman-compose (1.0.3) starts the
services in dependency order but waits for no condition (`service_completed_successfully`), so
the tests wait for the loader themselves.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from PIL import Image
from pydicom.uid import JPEGLSLossless

from dicom_mcp.demo import sample_datasets
from dicom_mcp.reading.image import render
from testbeds.clients import call_ok, mcp_client
from testbeds.container import ContainerBedError, kept_or_built, podman
from testbeds.net import free_port
from testbeds.poll import until
from testbeds.service import REPO, SERVICE_LOGS
from tests.container.test_image import DEMO_NAMES

COMPOSE = REPO / "deploy" / "docker-compose.yml"
ORTHANC = Path(__file__).parent / "orthanc"
START_TIMEOUT = 300.0  # Orthanc's first start, then 70 instances stored one by one


@dataclass
class Stack:
    """A compose project started from a derived copy of the compose file."""

    project: str
    file: Path
    published: dict[str, dict[str, int]]  # service -> container port -> host port on loopback
    loader_exit: int | None = None

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"  # podman-compose 1.0.3's naming

    def url(self, service: str, port: str) -> str:
        return f"http://127.0.0.1:{self.published[service][port]}"

    def compose(self, *args: str) -> None:
        command = [podman_compose(), f"--project-name={self.project}", f"--file={self.file}", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise ContainerBedError(f"podman-compose {args[0]} failed:\n{result.stdout[-3000:]}")


def podman_compose() -> str:
    found = shutil.which("podman-compose")
    if found is None:
        raise ContainerBedError("podman-compose not found: install the Debian package (scripts/test.sh does)")
    return found


def derived_compose(images: dict[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """The compose file with `images` in place of its builds and images, and free host ports."""
    compose = yaml.safe_load(COMPOSE.read_text())
    published: dict[str, dict[str, int]] = {}
    for name, service in compose["services"].items():
        service.pop("build", None)
        service["image"] = images[name]
        ports = []
        for port in service.get("ports", []):
            address, _, inside = port.split(":")
            published.setdefault(name, {})[inside] = free_port()
            ports.append(f"{address}:{published[name][inside]}:{inside}")
        service["ports"] = ports
    return compose, published


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def stack(
    base: str, service_image: str, tmp_path_factory: pytest.TempPathFactory, figures: list[str]
) -> Iterator[Stack]:
    orthanc = kept_or_built("localhost/dicom-mcp-test-orthanc", ORTHANC, base)
    figures.append(f"Orthanc image {orthanc.tag}: {orthanc.how} in {orthanc.seconds:.1f} s")
    images = {"dicom-mcp": service_image, "sample-data": service_image, "orthanc": orthanc.tag}
    compose, published = derived_compose(images)
    workdir = tmp_path_factory.mktemp("compose")
    (workdir / "docker-compose.yml").write_text(yaml.safe_dump(compose, sort_keys=False))
    stack = Stack(f"dicom-mcp-test-{os.getpid()}", workdir / "docker-compose.yml", published)
    started = time.monotonic()
    try:
        stack.compose("up", "--detach")
        waited = podman("wait", stack.container("sample-data"), timeout=START_TIMEOUT)
        stack.loader_exit = int(waited.stdout.strip())
        loaded = time.monotonic() - started
        until(lambda: healthy(stack.url("dicom-mcp", "8000")), within=60, what="dicom-mcp in the stack")
        figures.append(
            f"compose stack: sample data loaded {loaded:.1f} s after `up`, "
            f"dicom-mcp healthy after {time.monotonic() - started:.1f} s"
        )
        yield stack
    finally:
        for service in compose["services"]:
            log = workdir / f"{service}.log"
            logs = podman("logs", stack.container(service), check=False)
            log.write_text(logs.stdout + logs.stderr)
            SERVICE_LOGS.append(log)
        stack.compose("down", "--volumes")
        # podman-compose 1.0.3 leaves the project's network behind.
        networks = podman(
            "network", "ls", "--quiet", f"--filter=label=io.podman.compose.project={stack.project}"
        )
        for network in networks.stdout.split():
            podman("network", "rm", network, check=False)


def test_the_loader_stores_the_sample_data_into_orthanc_then_exits_0(stack: Stack) -> None:
    assert stack.loader_exit == 0
    statistics = httpx.get(f"{stack.url('orthanc', '8042')}/statistics").json()
    assert statistics["CountInstances"] == len(sample_datasets())


@pytest.mark.anyio
async def test_the_service_reads_orthanc_over_the_compose_network(stack: Stack) -> None:
    url = stack.url("dicom-mcp", "8000")
    async with mcp_client(f"{url}/mcp", "modern") as client:
        patients = await call_ok(client, "query_patients")
        studies = await call_ok(client, "query_studies", patient_id="DEMO-002")
        (mr,) = studies["matches"]  # type: ignore[misc]
        series = await call_ok(client, "query_series", study_instance_uid=mr["StudyInstanceUID"])
        t1 = series["matches"][0]  # type: ignore[index]
        slices = await call_ok(client, "query_instances", series_instance_uid=t1["SeriesInstanceUID"])
        uid = slices["matches"][4]["SOPInstanceUID"]  # type: ignore[index]
        header = await call_ok(client, "get_instance_metadata", sop_instance_uid=uid)
        image = await client.call_tool("render_image", {"sop_instance_uid": uid})
    assert sorted(p["PatientName"] for p in patients["matches"]) == sorted(DEMO_NAMES)  # type: ignore[attr-defined]
    assert header["transfer_syntax"] == JPEGLSLossless.name  # Orthanc keeps what the loader stored
    assert not image.is_error, image.content
    png = next(block for block in image.content if block.type == "image")
    (instance,) = [ds for ds in sample_datasets() if ds.SOPInstanceUID == uid]
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(png.data))))
    assert np.array_equal(pixels, np.asarray(Image.open(io.BytesIO(render(instance).png))))


def test_the_service_is_ready_with_orthanc_as_its_default_pacs(stack: Stack) -> None:
    ready = httpx.get(f"{stack.url('dicom-mcp', '8000')}/readyz")
    assert ready.json()["status"] == "ready", ready.text


def test_the_service_in_the_stack_passes_its_healthcheck(stack: Stack) -> None:
    assert podman("healthcheck", "run", stack.container("dicom-mcp"), check=False).returncode == 0
