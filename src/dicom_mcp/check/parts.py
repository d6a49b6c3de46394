"""The service's own parts: the nodes file, the session store, who may call, the pseudonym key.

Each gives one row with one cell ("result"). Files are read as the service reads them, with the
service's own loaders, so an error here is the error the service would stop on; nothing read from
them is shown but counts (no key, no token, no secret).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import jwt
import redis.asyncio

from dicom_mcp.check.cells import Cell, Row, millis
from dicom_mcp.errors import AuthConfigError, ConfigurationError, StoreError
from dicom_mcp.pacs.nodes import NodeRegistry, load_nodes
from dicom_mcp.security.auth import MOVE_SCOPE, PSEUDONYMISED_SCOPE, load_api_keys
from dicom_mcp.services import pseudonym_keys
from dicom_mcp.settings import Settings
from dicom_mcp.state.redis_link import Breaker, async_client, is_redis, translated
from dicom_mcp.transport.startup import store_description

PROBE_KEY_SECONDS = 10  # a key written to Redis to see it kept expires after this long


def _row(name: str, where: str, cell: Cell) -> Row:
    return Row(name, "service", where, {"result": cell})


def nodes_row(settings: Settings) -> tuple[Row, NodeRegistry]:
    """The nodes file, and its nodes (none when it cannot be used)."""
    path = settings.nodes_file
    if path is None:
        return _row(
            "nodes file", "-", Cell("info", "not set", "no named nodes: the default PACS only")
        ), NodeRegistry()
    try:
        registry = load_nodes(path)
    except ConfigurationError as exc:
        return _row("nodes file", str(path), Cell("failed", "cannot be used", str(exc))), NodeRegistry()
    web = sum(target.web is not None for target in registry.targets.values())
    count = len(registry.targets)
    text = f"{count} node{'s' * (count != 1)} ({count - web} DIMSE, {web} DICOMweb)"
    return _row("nodes file", str(path), Cell("ok", text, f"read {text}", count)), registry


async def store_row(settings: Settings, wait: float) -> Row:
    """The session store: Redis answers PING and keeps what is written to it; memory needs nothing."""
    url = settings.session_store
    where = store_description(url)
    if not is_redis(url):
        return _row("session store", where, Cell("ok", "memory", "this process's memory: nothing to reach"))
    client = async_client(url, wait)
    try:
        with anyio.fail_after(wait * 2), translated("check", Breaker()):
            connect, ping, write = await _round_trips(client)
    except TimeoutError:
        cell = Cell("failed", "no answer", f"Redis did not answer within {wait * 2:g} s")
        return _row("session store", where, cell)
    except StoreError as exc:
        return _row("session store", where, Cell("failed", "unreachable", str(exc)))
    finally:
        await client.aclose()
    if write is None:
        cell = Cell("failed", "not kept", "Redis did not give back what was written to it")
        return _row("session store", where, cell)
    text = f"PING {millis(ping)}, write and read back {millis(write)}"
    value = {"connect_ms": round(connect, 2), "ping_ms": round(ping, 2), "write_read_ms": round(write, 2)}
    return _row("session store", where, Cell("ok", text, f"connected in {millis(connect)}; {text}", value))


async def _round_trips(client: redis.asyncio.Redis) -> tuple[float, float, float | None]:
    """Milliseconds to connect (the first PING), for a PING, and to write, read back and delete a key
    (None: what was read back is not what was written)."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        await cast("Awaitable[bool]", client.ping())
        times.append((time.perf_counter() - started) * 1000)
    key = f"dicom-mcp:check:{secrets.token_hex(8)}"
    started = time.perf_counter()
    await client.set(key, b"1", ex=PROBE_KEY_SECONDS)
    kept = await client.get(key) == b"1"
    await client.delete(key)
    write = (time.perf_counter() - started) * 1000
    return times[0], times[1], write if kept else None


def api_keys_row(settings: Settings) -> Row:
    """The API keys file, parsed as the service parses it."""
    path = settings.api_keys_file
    if path is None:
        return _row("API keys", "-", Cell("info", "not set", "no API keys file (DICOM_MCP_API_KEYS_FILE)"))
    try:
        keys = load_api_keys(path)
    except OSError as exc:
        return _row(
            "API keys", str(path), Cell("failed", "unreadable", f"{path} cannot be read ({exc.strerror})")
        )
    except (AuthConfigError, UnicodeDecodeError) as exc:
        words = str(exc) if isinstance(exc, AuthConfigError) else f"{path} is not UTF-8 text"
        return _row("API keys", str(path), Cell("failed", "unusable", words))
    moving = sum(MOVE_SCOPE in key.permissions for key in keys)
    hidden = sum(PSEUDONYMISED_SCOPE in key.permissions for key in keys)
    text = f"{len(keys)} key{'s' * (len(keys) != 1)} ({moving} may move, {hidden} pseudonymised)"
    return _row("API keys", str(path), Cell("ok", text, text, len(keys)))


async def jwks_row(settings: Settings, wait: float) -> Row:
    """The OAuth JWKS, fetched (a URL) or read (a file) and parsed as the service does."""
    jwks = settings.oauth_jwks
    if not jwks:
        return _row("OAuth JWKS", "-", Cell("info", "not set", "no OAuth (DICOM_MCP_OAUTH_JWKS)"))
    remote = jwks.startswith(("https://", "http://"))
    where = _without_query(jwks) if remote else jwks
    try:
        with anyio.fail_after(wait + 1):
            keyset = await anyio.to_thread.run_sync(
                _fetch if remote else _read, jwks, wait, abandon_on_cancel=True
            )
    except TimeoutError:
        return _row("OAuth JWKS", where, Cell("failed", "no answer", f"no answer within {wait:g} s"))
    except OSError as exc:
        return _row(
            "OAuth JWKS", where, Cell("failed", "unreadable", f"{jwks} cannot be read ({exc.strerror})")
        )
    except (jwt.PyJWTError, ValueError) as exc:
        return _row("OAuth JWKS", where, Cell("failed", "unusable", f"{type(exc).__name__}: {exc}"))
    count = len(keyset.keys)
    text = f"{count} key{'s' * (count != 1)}"
    detail = f"{text}; tokens must come from {settings.oauth_issuer} for {settings.oauth_audience or settings.resource_url}"
    return _row("OAuth JWKS", where, Cell("ok", text, detail, count))


def _fetch(url: str, timeout: float) -> jwt.PyJWKSet:
    return jwt.PyJWKClient(url, cache_keys=False, timeout=int(max(1, timeout))).get_jwk_set()


def _read(path: str, timeout: float) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_json(Path(path).read_text(encoding="utf-8"))


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def pseudonym_key_row(settings: Settings) -> Row:
    """The pseudonym key, where some caller is pseudonymised (DICOM_MCP_VIEW, or an API key's permission)."""
    where = str(settings.pseudonym_key_file or "-")
    try:
        keys = pseudonym_keys(settings)
    except ConfigurationError as exc:
        return _row(
            "pseudonym key", where, Cell("failed", "missing" if where == "-" else "unusable", str(exc))
        )
    except (OSError, UnicodeDecodeError):
        return _row("pseudonym key", where, skipped_for_api_keys())
    why = _pseudonymised_callers(settings)
    if keys is None:
        return _row("pseudonym key", where, Cell("info", "not needed", "no caller is pseudonymised"))
    text = "loaded" + (f" ({why})" if why else ", though no caller is pseudonymised")
    return _row("pseudonym key", where, Cell("ok", text, text))


def skipped_for_api_keys() -> Cell:
    return Cell("skipped", "-", "not known: the API keys file cannot be read")


def _pseudonymised_callers(settings: Settings) -> str:
    """Who is pseudonymised: every caller (DICOM_MCP_VIEW), or API keys with the permission."""
    if settings.view == "pseudonymised":
        return "DICOM_MCP_VIEW=pseudonymised"
    try:
        keys = load_api_keys(settings.api_keys_file) if settings.api_keys_file else ()
    except (OSError, UnicodeDecodeError, AuthConfigError):
        return ""
    granted = sum(PSEUDONYMISED_SCOPE in key.permissions for key in keys)
    return f"{granted} API key{'s' * (granted != 1)} with {PSEUDONYMISED_SCOPE}" if granted else ""
