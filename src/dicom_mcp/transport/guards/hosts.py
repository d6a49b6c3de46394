"""Host and Origin checks (DNS rebinding protection), parsed and compared exactly.

The SDK's own check compares prefixes, so `Host: localhost:evil.com` or
`Origin: http://localhost:1@evil.com` pass it. Here each header is parsed into scheme, host
and port; the host must equal an allowed name and the port be a number that the allowed
entry admits (an entry without a port admits any port). This guard runs in front of the SDK's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from dicom_mcp.transport.guards.asgi import is_mcp_path, send_json

_NAME = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Authority:
    """A parsed `host[:port]`; `port` None means none was given."""

    host: str
    port: int | None

    def admits(self, other: Authority) -> bool:
        """Whether `other` is this entry: same host, and the same port if this entry names one."""
        return self.host == other.host and (self.port is None or self.port == other.port)


def parse_authority(value: str) -> Authority | None:
    """`name`, `name:port`, `[v6]` or `[v6]:port`, else None."""
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = value.partition(":")
        port = port_text if sep else None
    if not _NAME.fullmatch(host) or (port is not None and not _PORT.fullmatch(port)):
        return None
    number = int(port) if port is not None else None
    if number is not None and not 0 < number <= 65535:
        return None
    return Authority(host.lower(), number)


def parse_origin(value: str) -> tuple[str, Authority] | None:
    """`scheme://host[:port]` with nothing else (no user, path, query or fragment), else None."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    authority = parse_authority(parts.netloc)
    return (parts.scheme, authority) if authority is not None else None


class HostOriginGuard:
    """421 for a Host, 403 for an Origin, that is not exactly one of the allowed ones."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str], origins: Iterable[str]) -> None:
        self._app = app
        self._hosts = [a for a in map(parse_authority, hosts) if a is not None]
        self._origins = [o for o in map(parse_origin, origins) if o is not None]

    def host_allowed(self, value: str | None) -> bool:
        found = parse_authority(value) if value else None
        return found is not None and any(allowed.admits(found) for allowed in self._hosts)

    def origin_allowed(self, value: str | None) -> bool:
        if value is None:  # same-origin requests and non-browser clients send none
            return True
        found = parse_origin(value)
        return found is not None and any(
            scheme == found[0] and allowed.admits(found[1]) for scheme, allowed in self._origins
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_mcp_path(scope):
            headers = Headers(scope=scope)
            if not self.host_allowed(headers.get("host")):
                await send_json(send, 421, {"error": "misdirected", "error_description": "Host not allowed"})
                return
            if not self.origin_allowed(headers.get("origin")):
                await send_json(send, 403, {"error": "forbidden", "error_description": "Origin not allowed"})
                return
        await self._app(scope, receive, send)
