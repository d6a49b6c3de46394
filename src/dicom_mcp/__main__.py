"""Command line: `dicom-mcp [--transport http|stdio] [--host H] [--port P]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import anyio

from dicom_mcp.http import serve_http
from dicom_mcp.logs import configure_logging
from dicom_mcp.settings import Settings
from dicom_mcp.stdio import serve_stdio


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dicom-mcp", description="Serve DICOM query tools over MCP.")
    parser.add_argument("--transport", choices=["http", "stdio"], help="default: DICOM_MCP_TRANSPORT or http")
    parser.add_argument("--host", help="HTTP bind address (default: DICOM_MCP_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default: DICOM_MCP_PORT or 8000)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build settings from the environment and flags, then run the chosen transport."""
    args = parse_args(argv)
    overrides = {
        key: value for key in ("transport", "host", "port") if (value := getattr(args, key)) is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    if settings.transport == "stdio":
        anyio.run(serve_stdio, settings)
    else:
        serve_http(settings)


if __name__ == "__main__":
    main()
