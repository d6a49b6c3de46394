"""The documented set-up for reading and moving works as written: its nodes files and its API keys file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dicom_mcp.errors import ConfigurationError
from dicom_mcp.pacs.nodes import load_nodes
from dicom_mcp.security.auth import load_api_keys
from dicom_mcp.services import build_receiver, default_target
from dicom_mcp.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = (DOCS / "operators" / "security.md", DOCS / "users" / "reading.md")


def blocks(language: str) -> list[str]:
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_readmes_nodes_file_marks_one_move_destination(tmp_path: Path) -> None:
    (example,) = [block for block in blocks("toml") if "move_destination" in block]
    path = tmp_path / "nodes.toml"
    # TLS files must exist to be loaded; the destination is what this test is about.
    path.write_text(re.sub(r"(?ms)^\[nodes\.\w+\.tls\].*?(?=^\[|\Z)", "", example), encoding="utf-8")
    nodes = load_nodes(path)
    assert nodes.move_destinations == {"workstation"}
    assert nodes.targets["workstation"].ae_title == tomllib.loads(example)["nodes"]["workstation"]["ae_title"]
    assert set(nodes.targets) - nodes.move_destinations == {"main", "research"}


def test_the_readmes_api_keys_file_grants_what_it_says(tmp_path: Path) -> None:
    (example,) = [block for block in blocks("text") if "[permissions]" in block]
    path = tmp_path / "api-keys"
    path.write_text(example, encoding="utf-8")
    keys = {key.principal: key.permissions for key in load_api_keys(path)}
    assert keys == {"alice": ("dicom:read",), "ai-pipeline": ("dicom:read", "dicom:move")}


def test_the_readmes_move_only_node_needs_a_receiver_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (example,) = [block for block in blocks("toml") if "retrieve" in block]
    path = tmp_path / "nodes.toml"
    path.write_text(example, encoding="utf-8")
    (node,) = load_nodes(path).targets.values()
    assert node.retrieve == "move"
    monkeypatch.delenv("DICOM_MCP_RECEIVER_PORT", raising=False)
    settings = Settings(_env_file=None)
    with pytest.raises(ConfigurationError, match="DICOM_MCP_RECEIVER_PORT"):
        build_receiver(settings, [default_target(settings), node])
