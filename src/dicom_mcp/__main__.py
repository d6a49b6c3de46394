"""Command line: `dicom-mcp [--transport http|stdio] [--host H] [--port P] [--demo]`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio
from pydantic import ValidationError

from dicom_mcp.demo import sample_datasets, start_sample_pacs
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.http import serve_http
from dicom_mcp.logs import configure_logging
from dicom_mcp.settings import Settings
from dicom_mcp.stdio import serve_stdio

logger = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dicom-mcp", description="Serve DICOM query tools over MCP.")
    parser.add_argument("--transport", choices=["http", "stdio"], help="default: DICOM_MCP_TRANSPORT or http")
    parser.add_argument("--host", help="HTTP bind address (default: DICOM_MCP_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default: DICOM_MCP_PORT or 8000)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a built-in sample PACS with synthetic data on a free loopback port and make it "
        "the default PACS (instead of DICOM_HOST, DICOM_PORT and DICOM_CALLED_AE_TITLE)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build settings from the environment and flags, then run the chosen transport.

    A configuration that cannot be used ends the process with status 1 and one line saying why.
    """
    try:
        run(parse_args(argv))
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
    with ExitStack() as stack:
        demo_note = ""
        if args.demo:
            demo_note = stack.enter_context(_sample_pacs(overrides))
        settings = Settings(**overrides)
        configure_logging(settings.log_level, settings.log_format)
        if demo_note:
            _explain_demo(demo_note, settings)
        if settings.transport == "stdio":
            anyio.run(serve_stdio, settings)
        else:
            serve_http(settings)


@contextmanager
def _sample_pacs(overrides: dict[str, Any]) -> Iterator[str]:
    """Start the sample PACS and make it the default PACS; stop it on the way out."""
    started = time.monotonic()
    with start_sample_pacs(sample_datasets()) as pacs:
        overrides.update(dicom_host=pacs.host, dicom_port=pacs.port, dicom_called_ae_title=pacs.ae_title)
        yield f"{pacs.describe()} of synthetic data, ready in {time.monotonic() - started:.1f} s"


def _explain_demo(note: str, settings: Settings) -> None:
    where = settings.resource_url if settings.transport == "http" else "this process's stdin and stdout"
    logger.info("--demo: the default PACS is the built-in sample PACS, %s", note)
    logger.info(
        "--demo: connect an MCP client to %s and call query_patients; for a real PACS instead, run "
        "without --demo and set DICOM_HOST, DICOM_PORT and DICOM_CALLED_AE_TITLE (see .env.example)",
        where,
    )


if __name__ == "__main__":
    main()
