"""The study viewer: an MCP App (one self-contained HTML file) and what its tools need below MCP.

`viewer.html` is package data, served as the `ui://dicom-mcp/viewer` resource; `study` lists a
study's series and a series' instances by C-FIND; `pictures` turns an instance into a small PNG
or JPEG within a byte budget. Nothing here imports MCP.
"""

from __future__ import annotations

from importlib.resources import files


def viewer_html() -> str:
    """The viewer's HTML document (inline script and style, no network)."""
    return files(__package__).joinpath("viewer.html").read_text(encoding="utf-8")
