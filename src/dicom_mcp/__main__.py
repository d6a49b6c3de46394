"""Command line: `dicom-mcp [--transport http|stdio] [--host H] [--port P] [--demo]`.

`dicom-mcp reidentify --principal NAME TOKEN...` is the staff's re-identification command (reidentify.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from importlib.metadata import version
from typing import Any, NamedTuple

import anyio
from pydantic import ValidationError

from dicom_mcp import check, reidentify
from dicom_mcp.demo import SampleArchive, sample_datasets, start_sample_archive, start_sample_pacs
from dicom_mcp.demo.scp import LOOPBACK
from dicom_mcp.dimse.reactor import configure_pynetdicom
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.logs import configure_logging
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.nodes import NodeRegistry
from dicom_mcp.settings import Settings
from dicom_mcp.transport.http import serve_http
from dicom_mcp.transport.stdio import serve_stdio

logger = logging.getLogger(__name__)

ARCHIVE_NODE = "sample-archive"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dicom-mcp", description="Serve DICOM query tools over MCP.")
    parser.add_argument("--transport", choices=["http", "stdio"], help="default: DICOM_MCP_TRANSPORT or http")
    parser.add_argument("--host", help="HTTP bind address (default: DICOM_MCP_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default: DICOM_MCP_PORT or 8000)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a built-in sample PACS with synthetic data on a free loopback port and make it "
        "the default PACS (instead of DICOM_HOST, DICOM_PORT and DICOM_CALLED_AE_TITLE), with a "
        f"sample archive to move studies to (the node {ARCHIVE_NODE})",
    )
    parser.add_argument("--version", action="version", version=f"dicom-mcp {version('dicom-mcp')}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build settings from the environment and flags, then run the chosen transport.

    A configuration that cannot be used ends the process with status 1 and one line saying why.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["reidentify"]:
        sys.exit(reidentify.command(args[1:]))
    if args[:1] == ["check"]:
        sys.exit(check.command(args[1:]))
    try:
        run(parse_args(args))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.exit(f"dicom-mcp: invalid settings: {problems}")
    except ConfigurationError as exc:
        sys.exit(f"dicom-mcp: configuration error: {exc}")


def run(args: argparse.Namespace) -> None:
    """Run the transport the settings (and flags) choose."""
    overrides: dict[str, Any] = {
        key: value for key in ("transport", "host", "port") if (value := getattr(args, key)) is not None
    }
    configure_pynetdicom()  # pynetdicom and pydicom for the whole process, before any association
    with ExitStack() as stack:
        demo = stack.enter_context(_sample_pacs(overrides)) if args.demo else None
        settings = Settings(**overrides)
        configure_logging(settings.log_level, settings.log_format)
        if demo is not None:
            _explain_demo(demo, settings)
        nodes = demo.nodes if demo is not None else None
        if settings.transport == "stdio":
            anyio.run(serve_stdio, settings, nodes)
        else:
            serve_http(settings, nodes)


class _Demo(NamedTuple):
    """What `--demo` started: a note for the operator on each server, and the nodes it brings."""

    pacs: str
    archive: str
    nodes: NodeRegistry


@contextmanager
def _sample_pacs(overrides: dict[str, Any]) -> Iterator[_Demo]:
    """Start the sample PACS and its archive, make the PACS the default one; stop both on the way out.

    The archive becomes a named node marked as a move destination; no nodes file is written.
    """
    started = time.monotonic()
    datasets = sample_datasets()
    wanted = Settings(**overrides)  # the receiver, if any, is a move destination of the sample PACS too
    with start_sample_archive({str(ds.SOPClassUID) for ds in datasets}) as archive:
        destinations = {archive.ae_title: (archive.host, archive.port)}
        if wanted.receiver_port is not None:
            destinations[wanted.dicom_ae_title] = (LOOPBACK, wanted.receiver_port)
        with start_sample_pacs(datasets, move_destinations=destinations) as pacs:
            overrides.update(dicom_host=pacs.host, dicom_port=pacs.port, dicom_called_ae_title=pacs.ae_title)
            note = f"{pacs.describe()} of synthetic data, ready in {time.monotonic() - started:.1f} s"
            yield _Demo(note, archive.describe(), _archive_node(archive))


def _archive_node(archive: SampleArchive) -> NodeRegistry:
    target = Target(archive.host, archive.port, archive.ae_title, name=ARCHIVE_NODE)
    description = "Sample archive of --demo (loopback): counts what arrives, keeps nothing"
    return NodeRegistry({ARCHIVE_NODE: target}, {ARCHIVE_NODE: description}, frozenset({ARCHIVE_NODE}))


def _explain_demo(demo: _Demo, settings: Settings) -> None:
    where = settings.resource_url if settings.transport == "http" else "this process's stdin and stdout"
    logger.info("--demo: the default PACS is the built-in sample PACS, %s", demo.pacs)
    logger.info("--demo: move_study and move_series may send to the node %s, %s", ARCHIVE_NODE, demo.archive)
    logger.info(
        "--demo: connect an MCP client to %s and call query_patients; for a real PACS instead, run "
        "without --demo and set DICOM_HOST, DICOM_PORT and DICOM_CALLED_AE_TITLE (see .env.example)",
        where,
    )


if __name__ == "__main__":
    main()
