"""The HTTP transport: uvicorn serving create_app(), with a bounded graceful shutdown."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from dicom_mcp.app import create_app
from dicom_mcp.settings import Settings

logger = logging.getLogger(__name__)


def serve_http(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get `shutdown_grace` seconds to finish."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep the process's logging set-up
        timeout_graceful_shutdown=int(settings.shutdown_grace),
        lifespan="on",
    )
    # uvicorn re-raises a captured SIGTERM once it has shut down, through the handler that was
    # installed before it started. A graceful stop is a clean exit: make that handler a no-op
    # so the process ends with status 0, as orchestrators expect.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.Server(config).run()
    logger.info("dicom-mcp exited cleanly")


def _stopped(signum: int, frame: FrameType | None) -> None:
    """Swallow the SIGTERM uvicorn re-raises after its graceful shutdown."""
