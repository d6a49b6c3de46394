"""The container tests' tier, the image they share, and the figures they report.

Every test here is marked `container` and `external` (it runs podman), so `pytest -m "not external"`
leaves them out. The image is built once per session, from the repository's Dockerfile, on the
cached Debian base (testbeds/container.py), and removed at the end; the base and wheels stay cached.
Sizes and timings are printed in the terminal summary, never asserted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbeds.container import (
    SERVICE_REPOSITORY,
    base_image,
    build_image,
    image_size,
    podman,
    remove_stale_images,
    wheels,
)

HERE = Path(__file__).parent
FIGURES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker("container")
            item.add_marker("external")
            # The first test waits for the base (debootstrap, about a minute) and the image.
            item.add_marker(pytest.mark.timeout(900))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if config.stash[FIGURES]:
        terminalreporter.section("container image")
        for line in config.stash[FIGURES]:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> list[str]:
    """Lines for the terminal summary: what was built, how big, how long it took."""
    return pytestconfig.stash[FIGURES]


@pytest.fixture(scope="session")
def base(figures: list[str]) -> str:
    """The Debian base image (python3, python3-venv), built once and cached by its inputs."""
    built = base_image()
    figures.append(
        f"base {built.tag}: {built.how} in {built.seconds:.1f} s, {image_size(built.tag) / 1e6:.0f} MB"
    )
    return built.tag


@pytest.fixture(scope="session")
def service_image(base: str, figures: list[str]) -> Iterator[str]:
    """The service's image, built from the repository's Dockerfile on `base` for this session."""
    remove_stale_images()
    wheel_folder = wheels()
    figures.append(f"wheels: {wheel_folder.how} in {wheel_folder.seconds:.1f} s")
    built = build_image(f"{SERVICE_REPOSITORY}:{os.getpid()}", base, wheel_folder.tag)
    size = image_size(built.tag)
    figures.append(f"image {built.tag}: built in {built.seconds:.1f} s, {size / 1e6:.0f} MB ({size} bytes)")
    yield built.tag
    podman("image", "rm", "--force", built.tag, check=False)
