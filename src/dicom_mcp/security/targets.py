"""Which PACS a caller may point its session at.

A tool that lets a remote caller choose host and port is a port scanner inside a hospital
network, so every ad-hoc target must be admitted by the operator's allowlist
(`DICOM_MCP_ALLOWED_TARGETS`) before any socket opens. Entries are `host`, `host:port`,
`CIDR` or `CIDR:port` (IPv6 in brackets when a port follows: `[fd00::/8]:104`). A host name
matches a host-name entry literally; otherwise it is resolved once, every address must be
admitted, and the session is pinned to the first address so a later DNS answer cannot move it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import anyio

from dicom_mcp.errors import AllowlistError, TargetRefused
from dicom_mcp.model.target import Target

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


@dataclass(frozen=True)
class AllowRule:
    """One allowlist entry: a host name or a network, optionally restricted to one port."""

    hostname: str | None
    network: IPNetwork | None
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowRule:
        """Parse `host`, `host:port`, `CIDR`, `CIDR:port` or `[IPv6 CIDR]:port`."""
        try:
            spec, port = _split_port(text.strip())
        except ValueError:
            raise AllowlistError(
                f"DICOM_MCP_ALLOWED_TARGETS entry {text[:64]!r}: the port must be one number"
            ) from None
        try:
            return cls(None, ipaddress.ip_network(spec, strict=False), port)
        except ValueError:
            pass
        if not _HOSTNAME.fullmatch(spec):
            raise AllowlistError(
                f"DICOM_MCP_ALLOWED_TARGETS entry {text[:64]!r} is not a host, CIDR or host:port"
            )
        return cls(spec.lower().rstrip("."), None, port)

    def admits_port(self, port: int) -> bool:
        return self.port is None or self.port == port


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        spec, _, rest = text[1:].partition("]")
        return spec, int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        spec, _, port = text.partition(":")
        return spec, int(port)
    return text, None


class TargetPolicy:
    """Admits or refuses ad-hoc targets; the default PACS is always admitted."""

    def __init__(
        self, rules: Iterable[AllowRule], default_target: Target, nodes: Mapping[str, Target] | None = None
    ) -> None:
        self._rules = tuple(rules)
        self._default = default_target
        self._nodes = nodes or {}

    @classmethod
    def from_settings(
        cls, entries: Iterable[str], default_target: Target, nodes: Mapping[str, Target] | None = None
    ) -> TargetPolicy:
        return cls((AllowRule.parse(entry) for entry in entries), default_target, nodes)

    def node(self, name: str) -> Target:
        """The operator's node called `name` ("default" is the DICOM_HOST PACS)."""
        if name == self._default.name:
            return self._default
        target = self._nodes.get(name)
        if target is None:
            raise TargetRefused("unknown node name: call list_dicom_nodes for the names you may use")
        return target

    async def admit(self, host: str, port: int, ae_title: str) -> Target:
        """Return the target to store, or raise TargetRefused without opening any socket to it."""
        check_port(port)
        called = check_ae_title(ae_title)
        host = host.strip()
        if host.lower() == self._default.host.lower() and port == self._default.port:
            return Target(host, port, called)
        address = _ip_or_none(host)
        if address is not None:
            if self._admits_address(address, port):
                return Target(host, port, called)
            raise self._refusal(host, port)
        if not _HOSTNAME.fullmatch(host):
            raise TargetRefused("host must be a host name or an IP address")
        name = host.lower().rstrip(".")
        if any(rule.hostname == name and rule.admits_port(port) for rule in self._rules):
            return Target(host, port, called)
        if not any(rule.network is not None for rule in self._rules):
            raise self._refusal(host, port)
        addresses = await _resolve(host, port)
        if addresses and all(self._admits_address(a, port) for a in addresses):
            return Target(str(addresses[0]), port, called)
        raise self._refusal(host, port)

    def _admits_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
        return any(
            rule.network is not None and address in rule.network and rule.admits_port(port)
            for rule in self._rules
        )

    @staticmethod
    def _refusal(host: str, port: int) -> TargetRefused:
        return TargetRefused(
            f"{host}:{port} is not an allowed DICOM target: ask the operator to add it to "
            "DICOM_MCP_ALLOWED_TARGETS, or use the default PACS"
        )


def check_port(port: int) -> int:
    """A TCP port in 1..65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise TargetRefused("port must be an integer from 1 to 65535")
    return port


def check_ae_title(ae_title: str) -> str:
    """An AE title: 1-16 printable ASCII characters, no backslash, not only spaces."""
    stripped = ae_title.strip()
    if not stripped or len(ae_title) > 16:
        raise TargetRefused("ae_title must be 1 to 16 characters")
    if not all(0x20 <= ord(ch) < 0x7F and ch != "\\" for ch in ae_title):
        raise TargetRefused("ae_title must be printable ASCII without backslashes")
    return stripped


def _ip_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"the host name {host!r} could not be resolved") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
