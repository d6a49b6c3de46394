"""One tool call: identify the caller, translate errors, and leave an audit record."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from dicom_mcp.errors import StoreError
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.privacy.disclosure import active
from dicom_mcp.security.auth import PSEUDONYMISED_SCOPE
from dicom_mcp.services import Services
from dicom_mcp.state.sessions.resolver import handle_digest
from dicom_mcp.tools.context import Caller, caller_of
from dicom_mcp.tools.errors import tool_errors


@dataclass
class Call:
    """What a tool learns during a call; the audit record is built from it."""

    caller: Caller
    budget: Budget
    resolve: Callable[[str, str | None], Awaitable[Target]]
    fields: dict[str, Any] = field(default_factory=dict)
    node: Target | None = None
    pixels: int = 0  # decoded by this call's renders, against DICOM_MCP_RENDER_MAX_PIXELS

    async def pacs(self) -> Target:
        """The PACS this call talks to (its session's, its connection's, or the default), noted."""
        target = await self.resolve(self.caller.principal, self.caller.connection_id)
        self.target(target)
        return target

    def target(self, target: Target) -> None:
        """Note the PACS this call talks to."""
        self.node = target
        self.fields.update(
            node=target.name,
            host=target.host,
            port=target.port,
            called_ae_title=target.ae_title,
        )


PSEUDONYMISED = "pseudonymised"
IDENTIFIED = "identified"


def view_of(services: Services) -> str:
    """The view the running call is answered in: the operator's setting, narrowed by the caller's token."""
    token = get_access_token()
    if (
        active() is not None
        or services.settings.view == PSEUDONYMISED
        or (token is not None and PSEUDONYMISED_SCOPE in token.scopes)
    ):
        return PSEUDONYMISED
    return IDENTIFIED


def record_refusal(services: Services, caller: Caller, tool: str, error: str) -> None:
    """Audit and count a call refused before its tool ran (its arguments broke the contract)."""
    services.metrics.tool_calls.labels(tool, "refused").inc()
    services.audit.record(
        "refused",
        tool=tool,
        principal=caller.principal,
        view=view_of(services),
        client=caller.client,
        connection=handle_digest(caller.connection_id) if caller.connection_id else None,
        outcome="refused",
        error=error,
    )


@asynccontextmanager
async def tool_call(
    services: Services, ctx: Context[Any, Any], tool: str, event: str, session: str | None = None
) -> AsyncIterator[Call]:
    """Run a tool body: errors become ToolError; every outcome is audited (with query values)."""
    call = Call(caller_of(ctx), services.budget(), partial(services.resolver.resolve, session))
    started = time.perf_counter()
    outcome, error = "success", None
    services.activity.in_flight += 1
    try:
        with tool_errors(tool):
            yield call
    except ToolError as exc:
        outcome, error = "error", str(exc)
        if isinstance(exc.__cause__, StoreError):
            services.metrics.store_errors.inc()
        raise
    finally:
        call.budget.close()
        services.activity.in_flight -= 1
        services.metrics.tool_calls.labels(tool, outcome).inc()
        services.audit.record(
            event,
            tool=tool,
            principal=call.caller.principal,
            view=view_of(services),
            client=call.caller.client,
            session=handle_digest(session) if session else None,
            connection=handle_digest(call.caller.connection_id) if call.caller.connection_id else None,
            calling_ae_title=services.settings.dicom_ae_title,
            outcome=outcome,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            **call.fields,
        )
