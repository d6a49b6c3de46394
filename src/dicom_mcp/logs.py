"""Logging set-up: one record per line on stderr (stdout may carry MCP stdio), JSON by default.

No logger of this package ever receives patient data; pynetdicom's identifier logging is off
(`dicom.client.configure_pynetdicom`) and the SDK's message tracing is capped at INFO, because
at DEBUG it would write whole JSON-RPC messages, tool arguments included.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Literal

# Loggers that would print request or response bodies (tool arguments, query results) at DEBUG.
_BODY_LOGGERS = ("mcp", "mcp_types", "sse_starlette", "httpx", "httpcore", "httpx2", "pynetdicom")


class JsonFormatter(logging.Formatter):
    """Structured records: time, level, logger, message (and the exception type, never its text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: Literal["json", "text"] = "json") -> None:
    """Send records at `level` and above to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    cap_body_loggers(level)


def cap_body_loggers(level: str | int) -> None:
    """Keep loggers that print message bodies at INFO or above (pynetdicom at WARNING), whatever `level`."""
    numeric = level if isinstance(level, int) else logging.getLevelName(level)
    floor = max(numeric, logging.INFO)
    for name in _BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(floor, logging.WARNING) if name == "pynetdicom" else floor)
