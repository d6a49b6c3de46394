"""The source map (docs/developers/architecture.md) names every room of the tree, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "dicom_mcp"


def readme_map() -> str:
    page = (REPO / "docs" / "developers" / "architecture.md").read_text(encoding="utf-8")
    start = page.index("```\nsrc/dicom_mcp/")
    return page[start : page.index("```", start + 3)]


def test_every_package_and_top_level_module_is_on_the_map() -> None:
    rooms = {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    rooms |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    drawn = readme_map()
    assert [room for room in sorted(rooms) if not re.search(rf"^  {re.escape(room)}\s", drawn, re.M)] == []


def test_the_map_names_no_room_that_is_gone() -> None:
    named = re.findall(r"^  ([a-z_]+(?:/|\.py))\s", readme_map(), re.M)
    assert named and [room for room in named if not (PACKAGE / room.rstrip("/")).exists()] == []
