"""Logs a person can read: text lines on a terminal, JSON lines otherwise, either when forced.

`DICOM_MCP_LOG_FORMAT` is `auto` by default (stderr a terminal: text; anything else: JSON), or
`json` / `text` whatever stderr is. Both formats carry the same records, redacted the same way:
no session id and no caller-typed text reaches either. `dicom-mcp --version` names the package's
version.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from dicom_mcp.logs import JsonFormatter, LogFormat, TextFormatter, configure_logging, formatter_for
from testbeds.net import free_port
from testbeds.service import SERVICE_LOGS, RunningService, run_service, service_env, wait_healthy

pytestmark = pytest.mark.service

# "2026-05-04 10:21:33.120 INFO     dicom_mcp.transport.app: dicom-mcp on http://..."
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+: (?P<message>\S.*)$"
)
DEMO_STARTED = "--demo: the default PACS is the built-in sample PACS"
SESSION_UUID = "0b9c3f5e-8d7a-4c1b-9e2f-6a5d4c3b2a10"
TYPED_BY_A_CALLER = "DEMO^ALICE"


def record(
    message: str, *args: object, name: str = "dicom_mcp.test", exc: BaseException | None = None
) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args or None, exc_info)
    made.created, made.msecs = 1_780_000_000.25, 250.0
    return made


# --- The formatters ---------------------------------------------------------------------------


def test_a_text_line_is_local_time_level_logger_and_message() -> None:
    line = TextFormatter().format(record("%d studies found", 7))
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_780_000_000))
    assert line == f"{local}.250 WARNING  dicom_mcp.test: 7 studies found"
    assert TEXT_LINE.match(line)


def test_a_json_line_is_one_object_with_utc_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("%d studies found", 7))
    assert json.loads(line) == {
        "time": "2026-05-28T20:26:40.250+00:00",
        "level": "WARNING",
        "logger": "dicom_mcp.test",
        "message": "7 studies found",
    }


def failed_query() -> logging.LogRecord:
    try:
        raise ValueError(f"no patient {TYPED_BY_A_CALLER}")
    except ValueError as exc:
        return record("query failed", exc=exc)


def test_a_text_line_names_an_exception_by_type_never_by_its_text_or_traceback() -> None:
    line = TextFormatter().format(failed_query())
    assert line.endswith("dicom_mcp.test: query failed [ValueError]")
    assert "\n" not in line and TYPED_BY_A_CALLER not in line


def test_a_json_line_names_an_exception_by_type_never_by_its_text_or_traceback() -> None:
    line = JsonFormatter().format(failed_query())
    assert "\n" not in line and TYPED_BY_A_CALLER not in line
    assert json.loads(line)["exception"] == "ValueError"


def test_a_text_line_stays_one_line_and_shows_control_characters_escaped() -> None:
    line = TextFormatter().format(record("peer said %s", "a\nFAKE 00:00 ERROR forged\r\x1b[2J\u2028b\tc"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
    assert line.endswith(r"peer said a\nFAKE 00:00 ERROR forged\r\x1b[2J\u2028b" + "\tc")


def test_auto_is_text_on_a_terminal_and_json_on_anything_else() -> None:
    controller, terminal_fd = os.openpty()
    with open(terminal_fd, "w") as terminal:
        assert isinstance(formatter_for("auto", terminal), TextFormatter)
        assert isinstance(formatter_for("json", terminal), JsonFormatter)
    os.close(controller)
    assert isinstance(formatter_for("auto", io.StringIO()), JsonFormatter)
    assert isinstance(formatter_for("text", io.StringIO()), TextFormatter)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give back the suite's own root handlers (the patient-data scan's file) after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def message_of(line: str, fmt: LogFormat) -> str:
    """The message of one line, read as a person would (text) or a log shipper would (JSON)."""
    if fmt == "json":
        return str(json.loads(line)["message"])
    matched = TEXT_LINE.match(line)
    assert matched, f"not a text log line: {line!r}"
    return matched["message"]


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_library_lines_are_redacted_in_either_format(fmt: LogFormat) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", fmt, stream=out)
    logging.getLogger("mcp.server.streamable_http_manager").info(
        f"Created new transport with session ID: {SESSION_UUID}"
    )
    logging.getLogger("mcp.server.streamable_http").info(f"Terminating session: {SESSION_UUID}")
    logging.getLogger("mcp.server.mcpserver.server").warning(
        "Tool %r failed: %r", "query_patients", ValueError(TYPED_BY_A_CALLER)
    )
    logging.getLogger("pypdf").error(f"cannot read {TYPED_BY_A_CALLER}")  # silenced: quotes documents
    assert [message_of(line, fmt) for line in out.getvalue().splitlines()] == [
        "Created new transport with session ID: <redacted>",
        "Terminating session: <session>",
        "Tool 'query_patients' failed (ToolError; the audit log has the message)",
    ]


def test_the_documented_example_is_a_text_line() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "operators" / "settings.md"
    text = page.read_text(encoding="utf-8")
    section = text.split("\n## Logs and patient data\n", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```text\n(.*?)\n```", section, flags=re.DOTALL)
    assert TEXT_LINE.match(example)


# --- The real service: `dicom-mcp --demo` -------------------------------------------------------


@contextmanager
def run_demo_on_a_terminal(workdir: Path, env: Mapping[str, str]) -> Iterator[RunningService]:
    """`python -m dicom_mcp --demo` with stderr on a pseudo-terminal, copied to a log file as it comes."""
    port = free_port()
    log_path = workdir / f"terminal-{port}.log"
    SERVICE_LOGS.append(log_path)  # searched for patient data at the end of the run, like the others
    controller, terminal = os.openpty()
    argv = [sys.executable, "-m", "dicom_mcp", "--transport", "http", "--port", str(port), "--demo"]
    process = subprocess.Popen(
        argv, cwd=workdir, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)  # the child holds it now; when it exits, reading the controller ends
    copier = threading.Thread(target=_copy_terminal, args=(controller, log_path), daemon=True)
    copier.start()
    service = RunningService(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy(service)
        yield service
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        copier.join(timeout=10)
        os.close(controller)


def _copy_terminal(controller: int, log_path: Path) -> None:
    """Drain the terminal (a full one would stall the service's logging) into `log_path`."""
    with log_path.open("wb", buffering=0) as log:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal side has closed it
                return
            if not chunk:
                return
            log.write(chunk)


def talk_to_an_older_client_session(service: RunningService) -> str:
    """Open an `Mcp-Session-Id` session, and present a made-up one; return the real id."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    opened = httpx.post(service.mcp_url, headers=headers, json=initialize, timeout=10)
    assert opened.status_code == 200
    made_up = {**headers, "Mcp-Session-Id": TYPED_BY_A_CALLER, "MCP-Protocol-Version": "2025-06-18"}
    refused = httpx.post(
        service.mcp_url, headers=made_up, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, timeout=10
    )
    assert refused.status_code == 404
    return opened.headers["mcp-session-id"]


def log_lines(service: RunningService) -> list[str]:
    return [line for line in service.log().splitlines() if line.strip()]


def assert_json_lines(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in entries)
    assert any(DEMO_STARTED in entry["message"] and entry["level"] == "INFO" for entry in entries)


def assert_text_lines(lines: list[str]) -> None:
    assert [line for line in lines if not TEXT_LINE.match(line)] == []
    assert not any(line.startswith("{") for line in lines)
    assert not any("\x1b" in line for line in lines)  # plain text: no colours, whatever the terminal
    assert any(" INFO " in line and DEMO_STARTED in line for line in lines)


def test_on_a_terminal_the_service_writes_readable_lines_redacted_alike(tmp_path: Path) -> None:
    with run_demo_on_a_terminal(tmp_path, service_env()) as service:
        session_id = talk_to_an_older_client_session(service)
        assert service.stop(signal.SIGTERM) == 0
    lines = log_lines(service)
    assert_text_lines(lines)
    assert any(
        re.search(r" INFO +uvicorn\.access: .*\"GET /healthz HTTP/1\.1\" 200$", line) for line in lines
    )
    assert any(line.endswith("Created new transport with session ID: <redacted>") for line in lines)
    assert any(line.endswith("unknown or expired session ID: <redacted>") for line in lines)
    assert session_id not in service.log() and TYPED_BY_A_CALLER not in service.log()


def test_on_a_terminal_log_format_json_still_writes_json(tmp_path: Path) -> None:
    with run_demo_on_a_terminal(tmp_path, service_env(log_format="json")) as service:
        assert service.stop(signal.SIGTERM) == 0
    assert_json_lines(log_lines(service))


def test_piped_the_service_writes_json_lines(tmp_path: Path) -> None:
    with run_service(tmp_path, service_env(), ["--demo"]) as service:
        assert service.stop(signal.SIGTERM) == 0
    assert_json_lines(log_lines(service))


def test_piped_log_format_text_writes_readable_lines(tmp_path: Path) -> None:
    with run_service(tmp_path, service_env(log_format="text"), ["--demo"]) as service:
        assert service.stop(signal.SIGTERM) == 0
    assert_text_lines(log_lines(service))


def test_version_prints_the_package_version_and_exits_0(tmp_path: Path) -> None:
    # The installed command, as a user runs it; no setting is read, not even an unusable one.
    command = Path(sysconfig.get_path("scripts")) / "dicom-mcp"
    env = service_env(port="not a port")
    done = subprocess.run([command, "--version"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"dicom-mcp {version('dicom-mcp')}\n", "")
    assert re.fullmatch(r"dicom-mcp \d+\.\d+\.\d+\S*\n", done.stdout)
