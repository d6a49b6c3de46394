"""Logging set-up: one record per line on stderr (stdout may carry MCP stdio).

A person at a terminal reads text lines; anything else (a container runtime, a file, a log
shipper) gets JSON lines; `DICOM_MCP_LOG_FORMAT` forces either. Both formats see the same
records: the redaction below acts on records, before any formatter.

No logger of this package ever receives patient data; pynetdicom's identifier logging is off
(`dimse.reactor.configure_pynetdicom`), the SDK's message tracing is capped at INFO, because
at DEBUG it would write whole JSON-RPC messages, tool arguments included, and httpx's request
lines (QIDO-RS URLs hold query values) are silenced.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

# Loggers that would print request or response bodies (tool arguments, query results) at DEBUG.
_BODY_LOGGERS = ("mcp", "mcp_types", "sse_starlette", "httpx2", "pynetdicom")


# Library loggers whose INFO/WARNING lines carry session ids or caller-supplied text.
_REDACTED_LOGGERS = (
    "mcp.server.mcpserver.server",
    "mcp.server.streamable_http_manager",
    "mcp.server.streamable_http",
    "mcp.server.sse",
    "uvicorn.access",
    "uvicorn.error",
)
# A transport session id (uuid4, with or without dashes), wherever it appears.
_SESSION_ID = re.compile(
    r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
)
# What follows "session ID:" may be any text a caller sent (a malformed id).
_AFTER_SESSION_LABEL = re.compile(r"(session ID:?)\s*\S.*", re.IGNORECASE)


class RedactLibraryLines(logging.Filter):
    """Rewrite library log lines that would quote session ids or caller-supplied text.

    The SDK logs a failed tool's error text ("Tool ... failed: ..."), and a caller may type
    patient data into any argument that ends up in it; tool errors go to the log by type only.
    Session ids are credentials for older clients: they never reach ordinary logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Tool %r failed: %r":
            record.args = _tool_name(record)
            record.msg = "Tool %r failed (ToolError; the audit log has the message)"
        elif record.msg == "Tool %r rejected arguments: %r":
            record.args = _tool_name(record)
            record.msg = "Tool %r rejected its arguments"
        else:
            message = record.getMessage()
            redacted = _AFTER_SESSION_LABEL.sub(r"\1 <redacted>", _SESSION_ID.sub("<session>", message))
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def _tool_name(record: logging.LogRecord) -> tuple[object, ...]:
    args = record.args if isinstance(record.args, tuple) and record.args else ("?",)
    return args[:1]


_REDACTION = RedactLibraryLines()


def install_redaction() -> None:
    """Attach the redaction filter to the library loggers that need it, and silence the loggers
    that quote document content (idempotent)."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTION not in logger.filters:
            logger.addFilter(_REDACTION)
    for name in _CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


class JsonFormatter(logging.Formatter):
    """Structured records: time, level, logger, message (and the exception type, never its text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if exception := _exception_type(record):
            entry["exception"] = exception
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """One line a person reads: local time, level, logger and message (and the exception type).

    Never the exception's text or traceback, which may quote patient data, as in JSON. Control
    characters are shown escaped, so text a caller sent can neither start a forged line nor drive
    the terminal.
    """

    def format(self, record: logging.LogRecord) -> str:
        when = f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')}.{int(record.msecs):03d}"
        line = f"{when} {record.levelname:<8} {record.name}: {record.getMessage().translate(_ESCAPES)}"
        if exception := _exception_type(record):
            line += f" [{exception}]"
        return line


# C0 and C1 controls (tab excepted), DEL, and the Unicode line and paragraph separators.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}
_ESCAPES |= {0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _exception_type(record: logging.LogRecord) -> str | None:
    if record.exc_info and record.exc_info[0] is not None:
        return record.exc_info[0].__name__
    return None


def formatter_for(fmt: LogFormat, stream: TextIO) -> logging.Formatter:
    """The formatter `fmt` names; "auto" is text when `stream` is a terminal, JSON otherwise."""
    if fmt == "auto":
        fmt = "text" if _is_terminal(stream) else "json"
    return TextFormatter() if fmt == "text" else JsonFormatter()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def configure_logging(level: str, fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    """Send records at `level` and above to `stream` (stderr), in the format `fmt` chooses."""
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter_for(fmt, out))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    cap_body_loggers(level)
    install_redaction()


# Loggers that quote patient data at any level, silenced entirely: pypdf quotes document content
# (at ERROR too); httpx logs each request's URL at INFO ("HTTP Request: GET ..."), and a QIDO-RS
# URL carries the query's matching values; httpcore traces requests at DEBUG.
_CONTENT_LOGGERS = ("pypdf", "httpx", "httpcore")


def cap_body_loggers(level: str | int) -> None:
    """Keep loggers that print message bodies at INFO or above (pynetdicom at WARNING), whatever `level`."""
    numeric = level if isinstance(level, int) else logging.getLevelName(level)
    floor = max(numeric, logging.INFO)
    for name in _BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(floor, logging.WARNING) if name == "pynetdicom" else floor)
    for name in _CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
