"""create_app(): the Starlette application serving MCP over HTTP, plus health endpoints.

Routes:
    /mcp                Streamable HTTP: modern (2026-07-28) stateless requests and older
                        clients that `initialize` and carry an `Mcp-Session-Id`
    /sse, /messages/    the legacy HTTP+SSE transport
    /healthz            liveness: no I/O
    /readyz             readiness: the session store answers (the default PACS's cached C-ECHO is reported)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dicom_mcp.errors import StoreError
from dicom_mcp.metrics import CONTENT_TYPE
from dicom_mcp.security.auth import build_verifier
from dicom_mcp.security.metadata import metadata_routes
from dicom_mcp.services import Services, build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.guards.bodies import ReadBody
from dicom_mcp.transport.guards.guards import Callers
from dicom_mcp.transport.guards.hosts import HostOriginGuard
from dicom_mcp.transport.guards.older_sessions import OlderSessions
from dicom_mcp.transport.guards.refusals import AuditRefusals
from dicom_mcp.transport.lifecycle import TrackToolCalls
from dicom_mcp.transport.readiness import Readiness
from dicom_mcp.transport.server import build_server
from dicom_mcp.transport.startup import summary

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin checks: loopback always, plus the operator's names (with or without a port)."""
    hosts = [*LOOPBACK_HOSTS, *settings.allowed_hosts]
    origins = [f"http://{host}" for host in LOOPBACK_HOSTS] + list(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=_with_any_port(hosts),
        allowed_origins=_with_any_port(origins),
    )


def _with_any_port(values: Iterable[str]) -> list[str]:
    """`name` admits `name` and `name:<any port>`; an entry that names its port admits just that."""
    result: list[str] = []
    for value in values:
        result.append(value)
        if not value.rsplit("]", 1)[-1].rsplit("/", 1)[-1].count(":"):
            result.append(f"{value}:*")
    return result


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """Build the ASGI app; nothing connects until its lifespan starts."""
    services = services or build_services(settings)
    server = build_server(services)
    security = transport_security(settings)
    readiness = Readiness(services)
    streamable = server.streamable_http_app(
        streamable_http_path="/mcp",
        max_request_body_size=settings.max_body_bytes,
        session_idle_timeout=settings.http_session_idle_timeout,
        max_sessions=settings.http_max_sessions,
        transport_security=security,
    )
    sse = server.sse_app(
        sse_path="/sse",
        message_path="/messages/",
        max_request_body_size=settings.max_body_bytes,
        transport_security=security,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        announce_security(settings)
        # A mounted sub-app's lifespan never runs, so the session manager is entered here.
        try:
            async with server.session_manager.run():
                logger.info("%s", summary(settings, "http"))
                yield
        finally:
            await services.aclose()
            logger.info("dicom-mcp stopped")

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        status, body = await readiness.check()
        return JSONResponse(body, status_code=status)

    async def metrics(request: Request) -> Response:
        try:
            services.metrics.live_sessions.set(await services.store.count())
        except StoreError:
            services.metrics.store_errors.inc()
        return Response(services.metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *metadata_routes(settings),
        *streamable.routes,
        *sse.routes,
    ]
    app = Starlette(routes=routes, middleware=guards(settings, services), lifespan=lifespan)
    app.state.services = services
    return app


def guards(settings: Settings, services: Services) -> list[Middleware]:
    """Outermost first, one layer a job: audit refusals; check Host and Origin; read the bearer
    token (the SDK's two layers); admit callers and rate-limit them; read the body within its
    limit; guard older clients' transport sessions (`/mcp` ids, legacy `/sse` request ids);
    count calls for draining."""
    hosts = [*LOOPBACK_HOSTS, *settings.allowed_hosts]
    origins = [f"http://{host}" for host in LOOPBACK_HOSTS] + list(settings.allowed_origins)
    stack = [
        Middleware(
            AuditRefusals,
            audit=services.audit,
            metrics=services.metrics,
            limit=settings.rate_limit_per_minute,
        ),
        Middleware(HostOriginGuard, hosts=hosts, origins=origins),
    ]
    verifier = build_verifier(settings)
    if verifier is not None:
        stack += [
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier)),
            Middleware(AuthContextMiddleware),
        ]
    stack += [
        Middleware(Callers, settings=settings, window=services.limits.requests),
        Middleware(ReadBody, limit=settings.max_body_bytes),
        Middleware(
            OlderSessions,
            per_caller=settings.http_max_sessions_per_principal,
            open_sessions=services.limits.open_sessions,
        ),
        Middleware(TrackToolCalls, activity=services.activity),
    ]
    return stack


def announce_security(settings: Settings) -> None:
    """Say loudly, at start-up, who this instance will serve."""
    if settings.auth_enabled:
        return
    if settings.allow_unauthenticated:
        logger.warning(
            "NO AUTHENTICATION: every client that can reach %s:%s may query the PACS "
            "(DICOM_MCP_ALLOW_UNAUTHENTICATED=true)",
            settings.host,
            settings.port,
        )
    else:
        logger.warning(
            "NO AUTHENTICATION configured: serving loopback clients only; set DICOM_MCP_API_KEYS_FILE "
            "or DICOM_MCP_OAUTH_JWKS to serve others"
        )
