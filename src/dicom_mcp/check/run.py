"""`dicom-mcp check [--json] [--timeout S]`: can this service reach its PACS, and what do they offer?

Checks, with the settings the service would run with (the environment and `.env`): the default
PACS and every node of the nodes file, all at once; then the nodes file itself, the session
store, the API keys file, the OAuth JWKS and the pseudonym key. No step waits longer than the
timeout, and nothing about a patient is read, printed or logged: every DIMSE request and DICOMweb
search asks for something no one has, except the two that tell whether a DICOMweb archive
decodes query strings, of whose answers only the first two significant bytes are looked at.

Exit status: 0 everything the service needs answers (warnings allowed), 1 something it needs
failed, 2 the check could not run (settings that cannot be read), with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import anyio
import anyio.to_thread
from pydantic import ValidationError

from dicom_mcp.check.cells import Cell, Report, Row
from dicom_mcp.check.dimse_rows import dimse_row
from dicom_mcp.check.parts import api_keys_row, jwks_row, nodes_row, pseudonym_key_row, store_row
from dicom_mcp.check.report import document, table
from dicom_mcp.check.web_rows import web_row
from dicom_mcp.dimse.reactor import configure_pynetdicom
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.logs import configure_logging
from dicom_mcp.model.target import Target
from dicom_mcp.services import default_target
from dicom_mcp.settings import Settings

PROG: Final = "dicom-mcp check"
ALL_OK, SOME_FAILED, CANNOT_RUN = 0, 1, 2
DEFAULT_TIMEOUT: Final = 5.0
AT_ONCE: Final = 16  # nodes checked at the same time

logger = logging.getLogger(__name__)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check that this service can reach its PACS and DICOMweb nodes, what each offers, and "
        "that its session store, authentication and pseudonym key can be used. Reads no patient data.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        help="the longest any one step waits: a name look-up, a connection, a handshake, an exchange "
        f"(default {DEFAULT_TIMEOUT:g} s)",
    )
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("a number of seconds above 0, at most 600")
    return value


def command(argv: Sequence[str]) -> int:
    """Build settings from the environment, check, print; return the exit status."""
    args = parse_args(argv)
    environment_only: dict[str, Any] = {}  # without pydantic's mypy plugin, Settings() looks incomplete
    try:
        settings = Settings(**environment_only)
        configure_pynetdicom()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        return _cannot_run(f"invalid settings: {problems}")
    except ConfigurationError as exc:
        return _cannot_run(str(exc))
    # The tables go to stdout; logs, to stderr, only from warnings up unless DEBUG is asked for, and
    # none of pynetdicom's, whose rejections and timeouts the tables already put into words.
    debug = settings.log_level == "DEBUG"
    configure_logging("DEBUG" if debug else "WARNING", settings.log_format)
    if not debug:
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    report = anyio.run(check, settings, args.timeout)
    status = SOME_FAILED if report.failed else ALL_OK
    print(
        json.dumps(document(report, status), indent=2, ensure_ascii=False)
        if args.json
        else table(report, status)
    )
    return status


async def check(settings: Settings, wait: float) -> Report:
    """Check every node and part at once; rows in a fixed order (nodes as listed, then the parts)."""
    nodes, registry = nodes_row(settings)
    targets = [default_target(settings), *registry.targets.values()]
    move_to = settings.dicom_ae_title if settings.receiver_port is not None else None
    limiter = anyio.CapacityLimiter(AT_ONCE)
    found: dict[int, Row] = {}

    async def node(index: int, target: Target) -> None:
        destination = target.name in registry.move_destinations
        found[index] = await _node_row(target, settings.dicom_ae_title, wait, move_to, destination, limiter)

    async def part(index: int, row: Callable[[Settings, float], Awaitable[Row]]) -> None:
        found[index] = await row(settings, wait)

    store, jwks = len(targets), len(targets) + 1  # the parts that wait on the network
    async with anyio.create_task_group() as group:
        for index, target in enumerate(targets):
            group.start_soon(node, index, target)
        group.start_soon(part, store, store_row)
        group.start_soon(part, jwks, jwks_row)
    rows = [found[index] for index in range(len(targets))]
    rows += [nodes, found[store], api_keys_row(settings), found[jwks], pseudonym_key_row(settings)]
    return Report(settings.dicom_ae_title, wait, _receiver(settings), rows)


async def _node_row(
    target: Target,
    calling_ae: str,
    wait: float,
    move_to: str | None,
    destination: bool,
    limiter: anyio.CapacityLimiter,
) -> Row:
    try:
        if target.web is not None:
            return await web_row(target, wait, limiter)
        return await anyio.to_thread.run_sync(
            dimse_row, target, calling_ae, wait, move_to, destination, limiter=limiter
        )
    except Exception as exc:  # one node's surprise must not hide what the others showed
        logger.warning("checking %s failed: %s", target.describe(), type(exc).__name__, exc_info=True)
        kind = "dicomweb" if target.web is not None else "dimse"
        where = target.web.url if target.web is not None else f"{target.ae_title}@{target.host}:{target.port}"
        cell = Cell("failed", "check failed", f"the check itself failed ({type(exc).__name__}); see the log")
        return Row(target.name or "default", kind, where, {"resolve": cell})


def _receiver(settings: Settings) -> str | None:
    if settings.receiver_port is None:
        return None
    return f"{settings.dicom_ae_title} on {settings.receiver_host or settings.host}:{settings.receiver_port}"


def _cannot_run(reason: str) -> int:
    print(f"{PROG}: {reason}", file=sys.stderr)
    return CANNOT_RUN
