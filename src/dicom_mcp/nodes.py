"""The operator's named DICOM nodes, from DICOM_MCP_NODES_FILE (TOML).

    [nodes.main]
    host = "pacs.hospital.example"
    port = 11112
    ae_title = "MAINPACS"
    description = "Main clinical PACS"
    max_associations = 8            # optional, else DICOM_MCP_MAX_ASSOCIATIONS
    move_destination = false        # optional: true lets move_study/move_series send here

    [nodes.main.tls]                # optional: DICOM over TLS (1.2 or newer)
    ca_file = "/etc/dicom-mcp/pacs-ca.pem"
    cert_file = "/etc/dicom-mcp/client.pem"   # optional client certificate
    key_file = "/etc/dicom-mcp/client.key"
    server_name = "pacs.hospital.example"     # optional, defaults to host

Callers pick a node by name; its host stays hidden unless the operator exposes it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dicom_mcp.dicom.target import Target, TlsSettings
from dicom_mcp.errors import ConfigurationError

RESERVED = "default"


class _Tls(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    check_hostname: bool = True


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    ae_title: str = Field(min_length=1, max_length=16)
    description: str = ""
    max_associations: int | None = Field(None, ge=1, le=256)
    move_destination: bool = False
    tls: _Tls | None = None


class NodesFileError(ConfigurationError):
    """The nodes file cannot be used."""


@dataclass(frozen=True)
class NodeRegistry:
    """Named nodes: their targets and the descriptions callers may see."""

    targets: Mapping[str, Target] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    move_destinations: frozenset[str] = frozenset()


def load_nodes(path: Path | None) -> NodeRegistry:
    """Read the nodes file (none: an empty registry)."""
    if path is None:
        return NodeRegistry()
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NodesFileError(f"cannot read DICOM_MCP_NODES_FILE {path}: {exc}") from exc
    nodes: dict[str, Target] = {}
    descriptions: dict[str, str] = {}
    destinations: set[str] = set()
    for name, raw in (data.get("nodes") or {}).items():
        if name == RESERVED:
            raise NodesFileError(f"{path}: the node name {RESERVED!r} is reserved for the DICOM_HOST PACS")
        try:
            node = _Node.model_validate(raw)
        except ValidationError as exc:
            raise NodesFileError(f"{path}: node {name!r}: {exc}") from exc
        nodes[name] = _target(name, node)
        descriptions[name] = node.description
        if node.move_destination:
            destinations.add(name)
    return NodeRegistry(MappingProxyType(nodes), MappingProxyType(descriptions), frozenset(destinations))


def _target(name: str, node: _Node) -> Target:
    tls = None
    if node.tls is not None:
        for file in (node.tls.ca_file, node.tls.cert_file, node.tls.key_file):
            if file is not None and not file.is_file():
                raise NodesFileError(f"node {name!r}: TLS file {file} does not exist")
        tls = TlsSettings(
            ca_file=node.tls.ca_file,
            cert_file=node.tls.cert_file,
            key_file=node.tls.key_file,
            server_name=node.tls.server_name,
            check_hostname=node.tls.check_hostname,
        )
    return Target(
        node.host, node.port, node.ae_title, name=name, tls=tls, max_associations=node.max_associations
    )
