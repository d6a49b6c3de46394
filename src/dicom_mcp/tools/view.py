"""The view boundary: every tool call of a pseudonymised caller passes through here, both ways.

A caller is pseudonymised when the operator says so for everyone (DICOM_MCP_VIEW) or its token
carries the `dicom:pseudonymised` scope; nothing turns such a caller back into an identified
one. Its token arguments become originals before the tool runs (`privacy.arguments`); the
tool's answer, whatever the tool, becomes what the caller may read after it
(`privacy.answers`): structured content, text blocks, `_meta` pictures and error texts alike.
Every token written is remembered in the reverse map, under the caller's principal, so that
the caller can pass it back. Identified callers pass through untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, TextContent

from dicom_mcp.errors import InvalidQuery, StoreError
from dicom_mcp.privacy.answers import Answer
from dicom_mcp.privacy.arguments import translate
from dicom_mcp.privacy.disclosure import Disclosure, disclosing
from dicom_mcp.privacy.pseudonyms import IDENTITY, PATIENT_ID, Pseudonymiser
from dicom_mcp.services import Services
from dicom_mcp.state.pseudonyms import Original, TokenMap
from dicom_mcp.tools.call import PSEUDONYMISED, record_refusal, view_of
from dicom_mcp.tools.context import caller_from_request
from dicom_mcp.tools.contract import as_dict
from dicom_mcp.viewer.models import IMAGES_META

logger = logging.getLogger(__name__)


class ViewBoundary:
    """Server middleware: pseudonymises `tools/call` for the callers in that view."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or not isinstance(ctx.params, Mapping):
            return await call_next(ctx)
        if view_of(self._services) != PSEUDONYMISED:
            return await call_next(ctx)
        return await self._pseudonymised(ctx, call_next)

    async def _pseudonymised(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        services = self._services
        caller = caller_from_request(ctx.request)
        params = dict(ctx.params or {})
        tool = str(params.get("name"))
        arguments = params.get("arguments") or {}
        if services.pseudonym_keys is None:
            return _refused(
                "refused: this caller may only see pseudonymised data, and the service has no pseudonym key "
                "(the operator sets DICOM_MCP_PSEUDONYM_KEY_FILE)"
            )
        pseudonymiser = services.pseudonym_keys.for_principal(caller.principal)
        tokens = services.token_map

        async def recall(kind: str, token: str) -> tuple[str, str | None] | None:
            found = await tokens.recall(caller.principal, kind, token)
            return None if found is None else (found.value, found.patient)

        settings = services.settings
        try:
            translated = await translate(
                tool,
                arguments if isinstance(arguments, Mapping) else {},
                pseudonymiser,
                recall,
                settings.max_limit,
                settings.default_limit,
            )
            identity = await recall_identity(tokens, caller.principal, pseudonymiser, translated.patient)
        except InvalidQuery as exc:
            message = f"invalid input: {exc}"
            record_refusal(services, caller, tool, message)
            return _refused(message)
        except StoreError:
            services.metrics.store_errors.inc()
            return _refused("the pseudonym store is unavailable; try again shortly")
        disclosure = Disclosure(text=settings.pseudonymised_text)
        with disclosing(disclosure):
            result = await call_next(replace(ctx, params={**params, "arguments": translated.arguments}))
        answer = as_dict(result)
        if answer is None:
            return None
        rewriter = Answer(
            pseudonymiser,
            disclosure,
            patient=translated.patient,
            originals=translated.originals,
            pictures_meta=IMAGES_META,
            date_filter=translated.date_filter,
            identity=identity,
        )
        try:
            rewritten = rewriter.rewrite(answer)
        except Exception as exc:  # never the original answer: nothing rather than too much
            logger.error("an answer could not be pseudonymised (%s); it was withheld", type(exc).__name__)
            return _refused("the answer could not be prepared for the pseudonymised view; it was withheld")
        try:
            await tokens.remember(caller.principal, _entries(rewriter, pseudonymiser))
        except StoreError:
            services.metrics.store_errors.inc()
            return _refused(
                "the pseudonym store is unavailable; the answer's tokens could not be kept, try again"
            )
        return rewritten


def _entries(rewriter: Answer, pseudonymiser: Pseudonymiser) -> dict[tuple[str, str], Original]:
    """The reverse map's new entries: every token the answer holds, and what identifies each patient."""
    entries = {key: Original(value, patient) for key, (value, patient) in rewriter.emitted.items()}
    for patient, known in rewriter.identities.by_patient.items():
        key = (IDENTITY, pseudonymiser.token(PATIENT_ID, patient))
        entries[key] = Original(json.dumps(known, ensure_ascii=False), patient)
    return entries


async def recall_identity(
    tokens: TokenMap, principal: str, pseudonymiser: Pseudonymiser, patient: str | None
) -> dict[str, Any] | None:
    """What earlier answers taught about `patient`'s identity (names, birth date, IDs), if anything."""
    if patient is None:
        return None
    found = await tokens.recall(principal, IDENTITY, pseudonymiser.token(PATIENT_ID, patient))
    if found is None:
        return None
    try:
        known = json.loads(found.value)
    except ValueError:
        return None
    return known if isinstance(known, dict) and known.get("PatientID") == patient else None


def _refused(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
