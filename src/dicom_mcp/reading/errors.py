"""The reading package's one error: an instance that cannot be read as a report."""

from __future__ import annotations

from dicom_mcp.errors import DicomMcpError


class ReportUnreadable(DicomMcpError, ValueError):
    """A report's document is malformed, encrypted or of a kind we cannot read.

    Messages name the cause only; they never quote the document.
    """


class ReadStopped(ReportUnreadable):
    """Reading an instance was stopped: it passed its deadline or its memory, or its process died."""


class WrongInstance(ReportUnreadable):
    """The PACS sent the instance asked for under another study or series than it was located in."""
