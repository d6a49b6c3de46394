"""Reading by C-MOVE needs a receiver: without one, `retrieve = "move"` stops the service at start-up
with one line that says what to set, whether the default PACS or a node asks for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testbeds.service import service_env


def start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicom_mcp"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def node_file(tmp_path: Path, retrieve: str) -> str:
    path = tmp_path / "nodes.toml"
    path.write_text(
        f'[nodes.archive]\nhost = "127.0.0.1"\nport = 1\nae_title = "ARCHIVE"\nretrieve = "{retrieve}"\n',
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize("where", ["DICOM_RETRIEVE", "node"])
def test_move_without_a_receiver_refuses_to_start_with_one_line(tmp_path: Path, where: str) -> None:
    if where == "node":
        env = service_env({"DICOM_PORT": "1"}, nodes_file=node_file(tmp_path, "move"))
    else:
        env = service_env({"DICOM_PORT": "1", "DICOM_RETRIEVE": "move"})
    finished = start(tmp_path, env)
    assert finished.returncode == 1
    assert finished.stderr.startswith("dicom-mcp: configuration error: "), finished.stderr
    assert "DICOM_MCP_RECEIVER_PORT" in finished.stderr
    assert ("'archive'" if where == "node" else "'default'") in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("where", ["DICOM_RETRIEVE", "node"])
def test_an_unknown_way_to_retrieve_is_refused_at_start(tmp_path: Path, where: str) -> None:
    if where == "node":
        env = service_env({"DICOM_PORT": "1"}, nodes_file=node_file(tmp_path, "sometimes"))
    else:
        env = service_env({"DICOM_PORT": "1", "DICOM_RETRIEVE": "sometimes"})
    finished = start(tmp_path, env)
    assert finished.returncode == 1
    assert finished.stderr.startswith("dicom-mcp: "), finished.stderr
    assert "retrieve" in finished.stderr.lower()
    assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr
    assert "Traceback" not in finished.stderr
