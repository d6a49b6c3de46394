"""Which PACS a tool call talks to: session handle, then connection, then the default.

A handle is a random token minted by `configure_dicom_server` and passed back by modern
clients as the `session` argument. Older clients (with a transport session id) and stdio
get the same configuration bound to their connection, so they need not pass anything.
Entries belong to a principal: another principal's handle is answered exactly like an
unknown one. The store only ever sees SHA-256 digests of handles and connection ids, so a
dump of it reveals no usable handle.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Mapping

from dicom_mcp.errors import SessionNotFound, TooManySessions
from dicom_mcp.model.target import Target
from dicom_mcp.state.sessions.store import SessionEntry, SessionStore
from dicom_mcp.state.window import MemoryWindow, Window

HANDLE_BYTES = 24
MAX_HANDLE_LENGTH = 128
# Connections (older clients' transport sessions) remembered as having chosen a PACS.
MAX_CHOSEN_CONNECTIONS = 100_000


def _key(kind: str, token: str) -> str:
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


def _connection_key(principal: str, connection_id: str) -> str:
    """A connection's entry is its principal's: another principal presenting the id gets nothing."""
    return _key("conn", f"{principal}\x00{connection_id}")


def handle_digest(handle: str) -> str:
    """A short, non-reversible tag for a handle, fit for logs and audit records."""
    return hashlib.sha256(handle.encode()).hexdigest()[:16]


class SessionResolver:
    """Mints handles and resolves the target of each call."""

    def __init__(
        self,
        store: SessionStore,
        default_target: Target,
        *,
        nodes: Mapping[str, Target] | None = None,
        new_sessions: Window | None = None,
    ) -> None:
        """`new_sessions` caps how many sessions one principal may configure (default: 100 an hour)."""
        self._store = store
        self.default_target = default_target
        self._nodes = nodes or {}
        self._recent = new_sessions or MemoryWindow(100, 3600.0)
        # Connections that configured a PACS, so that losing the choice is an error, not the default.
        self._chosen: OrderedDict[str, None] = OrderedDict()

    async def configure(self, target: Target, principal: str, connection_id: str | None) -> str:
        """Store `target` under a new handle (and the connection, when there is one); return the handle.

        Raises:
            TooManySessions: the principal configured as many sessions as `new_sessions` allows.
            StoreError: the store (or the shared limit) failed.
        """
        await self._admit_new_session(principal)
        handle = secrets.token_urlsafe(HANDLE_BYTES)
        entry = SessionEntry(target, principal)
        await self._store.put(_key("handle", handle), entry)
        if connection_id:
            key = _connection_key(principal, connection_id)
            await self._store.put(key, entry)
            self._chosen[key] = None
            self._chosen.move_to_end(key)
            if len(self._chosen) > MAX_CHOSEN_CONNECTIONS:
                self._chosen.popitem(last=False)
        return handle

    async def resolve(self, handle: str | None, principal: str, connection_id: str | None) -> Target:
        """The target for this call: explicit handle, else the connection's, else the default PACS.

        Raises:
            SessionNotFound: a handle was given but is unknown, expired or another principal's;
                or this connection chose a PACS and that choice has expired or been evicted.
        """
        if handle:
            entry = None
            if len(handle) <= MAX_HANDLE_LENGTH:
                entry = await self._store.get(_key("handle", handle))
            if entry is None or entry.principal != principal:
                raise SessionNotFound(
                    "unknown or expired session handle: call configure_dicom_server again for a new one"
                )
            return self._current(entry.target)
        if connection_id:
            key = _connection_key(principal, connection_id)
            entry = await self._store.get(key)
            if entry is not None and entry.principal == principal:
                return self._current(entry.target)
            if key in self._chosen:
                raise SessionNotFound(
                    "the PACS this connection chose with configure_dicom_server has expired (idle too "
                    "long) or was evicted: call configure_dicom_server again"
                )
        return self.default_target

    def _current(self, target: Target) -> Target:
        """A named node is looked up again, so the operator's current settings (address, TLS) apply.

        Raises:
            SessionNotFound: the session named a node the operator has since removed; reaching its
                old address without its TLS settings would be wrong.
        """
        if target.name is None:
            return target
        if target.name == self.default_target.name:
            return self.default_target
        node = self._nodes.get(target.name)
        if node is None:
            raise SessionNotFound(
                "the node this session used is no longer configured: call configure_dicom_server again"
            )
        return node

    async def _admit_new_session(self, principal: str) -> None:
        if await self._recent.admit(principal):
            raise TooManySessions(
                f"too many sessions: at most {self._recent.limit} per caller within "
                f"{self._recent.seconds:g} s; reuse the session handle you already have"
            )
