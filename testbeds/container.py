"""Build the service's image from the repository's Dockerfile with podman, and run it, offline.

No image registry is reachable on the test machines, so the Dockerfile's BASE is a Debian image
made here: debootstrap (python3, python3-venv) from the mirror apt already uses, read from apt's
configuration at run time, imported with `podman import`. The build itself has no network: pip
installs from a folder of wheels built on the host (`pip wheel`) and mounted into the build.
The base tarball and the wheels are cached under CACHE, keyed by their inputs; podman keeps the
imported base too. Podman runs with runc and cgroupfs, and without default rlimits (a drop-in in
/etc/containers/containers.conf.d/ that scripts/test.sh writes). A missing podman or debootstrap is
an error, never a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from testbeds.net import free_port
from testbeds.service import REPO

CACHE = Path(os.environ.get("DICOM_MCP_TEST_CACHE", "/var/cache/dicom-mcp-test"))
BASE_REPOSITORY = "localhost/dicom-mcp-test-base"
SERVICE_REPOSITORY = "localhost/dicom-mcp-test"  # tagged with the test run's pid
BASE_PACKAGES = ("python3", "python3-venv")
# Not needed by a slim service image; left out as Debian's own slim images leave them out.
BASE_TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
)
# Build requirements of the project (pyproject.toml), and redis's backport for Python < 3.11.3
# (Bookworm has 3.11.2; pip on a newer host Python would leave it out).
EXTRA_WHEELS = ("setuptools>=77", "wheel", "async-timeout>=4.0.3")
START_TIMEOUT = 60.0


class ContainerBedError(RuntimeError):
    """An image could not be built, or a container could not start or stop."""


def require(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if found is None:
        raise ContainerBedError(f"{binary} not found: install the Debian package (scripts/test.sh does)")
    return found


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one podman command; on failure, raise with what it printed."""
    result = subprocess.run([require("podman"), *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise ContainerBedError(
            f"podman {' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def image_size(tag: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout)


@contextlib.contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """Hold the cache's lock: two test runs on one machine build each cached thing once."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def key_of(inputs: object) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


# --- The Debian base ---------------------------------------------------------------------------


def debian_source() -> tuple[str, str]:
    """This machine's Debian release and the mirror apt fetches it from (never a name of ours)."""
    release = dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
    )
    codename = release.get("VERSION_CODENAME", "").strip('"')
    targets = subprocess.run(
        ["apt-get", "indextargets", "--format", "$(SITE) $(CODENAME) $(TARGET_OF)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    sites = {line.split()[0] for line in targets if line.split()[1:] == [codename, "deb"]}
    if not codename or not sites:
        raise ContainerBedError(f"apt has no source for this machine's release ({codename or 'unknown'})")
    return codename, sorted(sites)[0]


@dataclass(frozen=True)
class Built:
    """An image, and how it was come by: built, imported from the cache, or already in podman."""

    tag: str
    how: str
    seconds: float


def base_image(cache: Path = CACHE) -> Built:
    """The Debian base with python3 and its venv module: from podman, the cached tarball, or debootstrap."""
    codename, mirror = debian_source()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    key = key_of([codename, mirror, arch.stdout.strip(), "minbase", BASE_PACKAGES, BASE_TRIM])
    tag, tarball = f"{BASE_REPOSITORY}:{key}", cache / f"base-{key}.tar"
    started = time.monotonic()
    with cache_lock(cache):
        if image_exists(tag):
            return Built(tag, "kept by podman", time.monotonic() - started)
        how = "imported from the cache"
        if not tarball.exists():
            debootstrap(codename, mirror, tarball)
            how = "built with debootstrap"
        podman("import", str(tarball), tag)
    return Built(tag, how, time.monotonic() - started)


def debootstrap(codename: str, mirror: str, tarball: Path) -> None:
    """Make a minimal Debian root file system with BASE_PACKAGES, and write it as a tarball."""
    root = tarball.with_suffix(".root")
    shutil.rmtree(root, ignore_errors=True)
    command = [require("debootstrap"), "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}"]
    result = subprocess.run([*command, codename, str(root), mirror], capture_output=True, text=True)
    if result.returncode != 0:
        raise ContainerBedError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}")
    for folder in BASE_TRIM:
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial")
    subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True)
    partial.rename(tarball)
    shutil.rmtree(root)


# --- The service's image ------------------------------------------------------------------------


def wheels(cache: Path = CACHE) -> Built:
    """A folder of wheels for the project's dependencies (and its build), made on the host by pip."""
    requirements = [*tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    requirements += EXTRA_WHEELS
    key = key_of([requirements, sys.version_info[:2], platform.machine()])
    folder = cache / f"wheels-{key}"
    started = time.monotonic()
    with cache_lock(cache):
        if folder.is_dir():
            return Built(str(folder), "cached", time.monotonic() - started)
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(partial), *requirements]
        result = subprocess.run(pip, capture_output=True, text=True)
        if result.returncode != 0:
            raise ContainerBedError(f"pip wheel failed:\n{result.stderr[-3000:]}")
        partial.rename(folder)
    return Built(str(folder), "built with pip wheel", time.monotonic() - started)


def build(tag: str, context: Path, *options: str) -> Built:
    """Build an image in the Docker format (an OCI image would drop HEALTHCHECK), leaving no layers behind."""
    started = time.monotonic()
    podman("build", "--format=docker", "--layers=false", f"--tag={tag}", *options, str(context))
    return Built(tag, "built", time.monotonic() - started)


def remove_stale_images() -> None:
    """Remove service images left by test runs that ended without their clean-up (tagged by pid)."""
    listed = podman("images", "--format={{.Tag}}", f"--filter=reference={SERVICE_REPOSITORY}")
    for pid in listed.stdout.split():
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            podman("image", "rm", "--force", f"{SERVICE_REPOSITORY}:{pid}", check=False)


def build_image(tag: str, base: str, wheel_folder: str) -> Built:
    """Build the repository's Dockerfile on `base`, without network, installing from `wheel_folder`."""
    return build(
        tag,
        REPO,
        f"--file={REPO / 'Dockerfile'}",
        "--network=none",
        f"--build-arg=BASE={base}",
        "--build-arg=PIP_NO_INDEX=1",
        "--build-arg=PIP_FIND_LINKS=/wheels",
        f"--volume={wheel_folder}:/wheels:ro",
    )


def kept_or_built(repository: str, context: Path, base: str) -> Built:
    """The image of the Dockerfile in `context` on `base`, built with network (apt) once per content."""
    files = sorted(path for path in context.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    key = key_of([base, *[(path.name, path.read_text()) for path in files]])
    tag, started = f"{repository}:{key}", time.monotonic()
    with cache_lock(CACHE):
        if image_exists(tag):
            return Built(tag, "kept by podman", time.monotonic() - started)
        built = build(tag, context, "--network=host", f"--build-arg=BASE={base}")
    return Built(tag, "built", built.seconds)


# --- Running it ---------------------------------------------------------------------------------


@dataclass
class RunningContainer:
    """A detached container on the host's network, serving HTTP at base_url."""

    name: str
    base_url: str
    log_path: Path
    started_in: float = 0.0

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def exec(self, *command: str, user: str = "") -> subprocess.CompletedProcess[str]:
        """Run a command in it, as the image's user or as `user`; never raise."""
        return podman("exec", *([f"--user={user}"] if user else []), self.name, *command, check=False)

    def status(self) -> str:
        return podman("container", "inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def stop(self, timeout: int = 20) -> int:
        """Stop it (SIGTERM, then SIGKILL after `timeout` s), keep its log, remove it; return its exit code."""
        podman("stop", f"--time={timeout}", self.name, timeout=timeout + 30)
        code = int(podman("wait", self.name).stdout.strip())
        self.log_path.write_text(self.logs())
        podman("rm", "--force", self.name)
        return code


@contextlib.contextmanager
def run_container(
    image: str, workdir: Path, args: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[RunningContainer]:
    """Run `image` on a free port of the host's network, read-only, until /healthz answers; stop it after."""
    port = free_port()
    name = f"dicom-mcp-test-{os.getpid()}-{port}"
    settings = {"DICOM_MCP_PORT": str(port), "DICOM_MCP_LOG_LEVEL": "DEBUG", **(env or {})}
    flags = [f"--env={key}={value}" for key, value in settings.items()]
    started = time.monotonic()
    podman("run", "--detach", f"--name={name}", "--network=host", "--read-only", *flags, image, *args)
    container = RunningContainer(name, f"http://127.0.0.1:{port}", workdir / f"{name}.log")
    try:
        wait_healthy(container)
        container.started_in = time.monotonic() - started
        yield container
    finally:
        if podman("container", "exists", name, check=False).returncode == 0:
            container.log_path.write_text(container.logs())
            podman("rm", "--force", "--time=20", name, check=False)


def wait_healthy(container: RunningContainer, timeout: float = START_TIMEOUT) -> None:
    """Poll /healthz until it answers 200, or fail with the container's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{container.base_url}/healthz", timeout=1).status_code == 200:
                return
        if container.status() != "running":
            raise ContainerBedError(f"{container.name} stopped:\n{container.logs()[-3000:]}")
        time.sleep(0.1)
    raise ContainerBedError(f"{container.name} did not become healthy:\n{container.logs()[-3000:]}")
