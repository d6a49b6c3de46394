"""Pure functions over a pydicom `Dataset`: header -> JSON, SR -> outline, PDF/CDA -> text.

No I/O, no MCP, no pynetdicom. Every error raised on purpose is a `ReportUnreadable`.
"""

from __future__ import annotations

from dicom_mcp.errors import ReportUnreadable

__all__ = ["ReportUnreadable"]
