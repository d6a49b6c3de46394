"""Logging set-up for the process: one line per record, on stderr (stdout may carry MCP stdio)."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    """Send every logger's records at `level` and above to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
