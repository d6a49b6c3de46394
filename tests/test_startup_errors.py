"""A configuration that cannot be used stops the service with one line that says why, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testbeds.service import service_env


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "allowed_targets",
            "127.0.0.1:1-65535",
            "configuration error: DICOM_MCP_ALLOWED_TARGETS entry '127.0.0.1:1-65535': the port must be one number",
        ),
        (
            "allowed_targets",
            "not a host!",
            "configuration error: DICOM_MCP_ALLOWED_TARGETS entry 'not a host!' is not a host, CIDR or host:port",
        ),
        ("port", "99999", "invalid settings: port: Input should be less than or equal to 65535"),
        (
            "nodes_file",
            "/nonexistent/nodes.toml",
            "configuration error: cannot read DICOM_MCP_NODES_FILE /nonexistent/nodes.toml",
        ),
    ],
)
def test_an_unusable_setting_is_one_clear_line(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "dicom_mcp"],
        env=service_env({"DICOM_PORT": "1"}, **{setting: value}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert finished.stderr.startswith(f"dicom-mcp: {message}")
    assert "Traceback" not in finished.stderr
