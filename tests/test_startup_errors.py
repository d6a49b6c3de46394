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
        (
            "view",
            "pseudonymised",
            "configuration error: DICOM_MCP_VIEW=pseudonymised needs DICOM_MCP_PSEUDONYM_KEY_FILE",
        ),
        (
            "pseudonym_key_file",
            "/nonexistent/pseudonym.key",
            "configuration error: DICOM_MCP_PSEUDONYM_KEY_FILE cannot be read: No such file or directory",
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


def test_a_keys_file_granting_the_pseudonymised_view_needs_the_pseudonym_key(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"research-bot {'ab' * 32} dicom:pseudonymised\n", encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "dicom_mcp"],
        env=service_env({"DICOM_PORT": "1"}, api_keys_file=str(keys)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert finished.stderr == (
        "dicom-mcp: configuration error: the API keys file grants dicom:pseudonymised, which needs "
        "DICOM_MCP_PSEUDONYM_KEY_FILE\n"
    )


def test_a_short_pseudonym_key_is_refused_with_how_to_make_one(tmp_path: Path) -> None:
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"too short\n")
    finished = subprocess.run(
        [sys.executable, "-m", "dicom_mcp"],
        env=service_env({"DICOM_PORT": "1"}, pseudonym_key_file=str(key)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert "at least 32 bytes (make one with: head -c 32 /dev/urandom > FILE)" in finished.stderr
    assert len(finished.stderr.splitlines()) == 1
