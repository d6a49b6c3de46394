"""The HTTP transport: uvicorn serving create_app(), with a draining, bounded graceful shutdown.

On SIGTERM (or SIGINT) the service first drains: new MCP requests get 503 and `/readyz` turns
unready, so a load balancer moves traffic away, while tool calls already running finish, for
at most DICOM_MCP_SHUTDOWN_GRACE seconds. Then uvicorn stops; whatever still runs is cut,
and its client sees the connection end rather than a hang. A second signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from types import FrameType

import anyio
import anyio.to_thread
import uvicorn

from dicom_mcp.pacs.nodes import NodeRegistry
from dicom_mcp.services import Services, build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.app import create_app

logger = logging.getLogger(__name__)
# After draining, how long uvicorn waits for idle streams (legacy SSE) before closing them.
_CLOSE_STREAMS_AFTER = 1


class DrainingServer(uvicorn.Server):
    """uvicorn, but the first exit signal drains in-flight tool calls before shutting down."""

    def __init__(self, config: uvicorn.Config, services: Services, grace: float) -> None:
        super().__init__(config)
        self._services = services
        self._grace = grace
        self._drain_task: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_task is not None or not self.started:
            super().handle_exit(sig, frame)
            return
        self._services.activity.draining = True
        loop = asyncio.get_running_loop()
        self._drain_task = loop.create_task(self._drain(sig, frame))

    async def _drain(self, sig: int, frame: FrameType | None) -> None:
        activity = self._services.activity
        logger.info(
            "draining: %d requests in flight (%d tool calls running), up to %g s",
            activity.requests,
            activity.in_flight,
            self._grace,
        )
        deadline = time.monotonic() + self._grace
        # Counters, not events: polling them is the simplest correct wait.
        while not activity.settled and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if activity.busy:
            logger.warning("grace period over: stopping %d requests still in flight", activity.requests)
            aborted = await anyio.to_thread.run_sync(self._services.client.abort_all)
            logger.info("aborted %d DICOM associations", aborted)
            # Let the stopped calls send their errors before uvicorn closes the connections.
            with anyio.move_on_after(_CLOSE_STREAMS_AFTER):
                while activity.busy:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        super().handle_exit(sig, frame)


def listen(host: str, port: int) -> socket.socket:
    """Bind the service's socket first, so a taken port is reported before anything claims to serve.

    Raises:
        SystemExit: the address cannot be bound (taken, or not an address of this machine).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        logger.error(
            "cannot listen on %s:%d: %s; is another process using the port?", host, port, exc.strerror
        )
        raise SystemExit(1) from None
    return sock


def serve_http(settings: Settings, extra_nodes: NodeRegistry | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain and stop; `extra_nodes` join the nodes file's."""
    # First: a configuration error says so, whatever the port.
    services = build_services(settings, extra_nodes=extra_nodes)
    sock = listen(settings.host, settings.port)
    app = create_app(settings, services)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep the process's logging set-up
        timeout_graceful_shutdown=_CLOSE_STREAMS_AFTER,
        lifespan="on",
    )
    # uvicorn re-raises a captured SIGTERM once it has shut down, through the handler that was
    # installed before it started. A graceful stop is a clean exit: make that handler a no-op
    # so the process ends with status 0, as orchestrators expect.
    signal.signal(signal.SIGTERM, _stopped)
    DrainingServer(config, services, settings.shutdown_grace).run(sockets=[sock])
    logger.info("dicom-mcp exited cleanly")


def _stopped(signum: int, frame: FrameType | None) -> None:
    """Swallow the SIGTERM uvicorn re-raises after its graceful shutdown."""
