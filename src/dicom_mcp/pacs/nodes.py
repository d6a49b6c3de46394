"""The operator's named DICOM nodes, from DICOM_MCP_NODES_FILE (TOML).

    [nodes.main]
    host = "pacs.hospital.example"
    port = 11112
    ae_title = "MAINPACS"
    description = "Main clinical PACS"
    max_associations = 8            # optional, else DICOM_MCP_MAX_ASSOCIATIONS
    move_destination = false        # optional: true lets move_study/move_series send here
    retrieve = "auto"               # optional: "get", "move" (C-MOVE to DICOM_MCP_RECEIVER_PORT) or "auto"

    [nodes.main.tls]                # optional: DICOM over TLS (1.2 or newer)
    ca_file = "/etc/dicom-mcp/pacs-ca.pem"
    cert_file = "/etc/dicom-mcp/client.pem"   # optional client certificate
    key_file = "/etc/dicom-mcp/client.key"
    server_name = "pacs.hospital.example"     # optional, defaults to host

    [nodes.cloud]                   # a DICOMweb node (QIDO-RS, WADO-RS); no move_study/move_series
    protocol = "dicomweb"
    url = "https://pacs.hospital.example/dicom-web"
    token_file = "/run/secrets/pacs-token"    # optional bearer token; or username + password_file
    ca_file = "/etc/dicom-mcp/pacs-ca.pem"    # optional, for a CA of the hospital's own
    max_connections = 8             # optional, else DICOM_MCP_MAX_ASSOCIATIONS
    local_matching = true           # optional: unset, the archive is asked whether it decodes
                                    # query strings; true or false says so instead

Callers pick a node by name; its host stays hidden unless the operator exposes it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dicom_mcp.errors import NodesFileError
from dicom_mcp.model.target import Target, TlsSettings, WebSettings

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
    protocol: Literal["dimse"] = "dimse"
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    ae_title: str = Field(min_length=1, max_length=16)
    description: str = ""
    max_associations: int | None = Field(None, ge=1, le=256)
    move_destination: bool = False
    retrieve: Literal["get", "move", "auto"] = "auto"
    tls: _Tls | None = None


class _WebNode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["dicomweb"]
    url: str = Field(pattern=r"^https?://[^\s?#]+$", max_length=2000)
    description: str = ""
    token_file: Path | None = None
    username: str | None = Field(None, min_length=1, max_length=256)
    password_file: Path | None = None
    ca_file: Path | None = None
    max_connections: int | None = Field(None, ge=1, le=256)
    local_matching: bool | None = None  # None: found out by asking the archive

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> _WebNode:
        if "@" in urlsplit(self.url).netloc:
            raise ValueError("credentials go in token_file or password_file, never in the url")
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        if self.token_file is not None and self.username is not None:
            raise ValueError("give token_file or username and password_file, not both")
        return self


@dataclass(frozen=True)
class NodeRegistry:
    """Named nodes: their targets and the descriptions callers may see."""

    targets: Mapping[str, Target] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    move_destinations: frozenset[str] = frozenset()

    def merged(self, other: NodeRegistry) -> NodeRegistry:
        """The nodes file's nodes (these) and nodes the service brings itself (`other`, e.g. `--demo`'s).

        Raises:
            NodesFileError: a name both registries use, or the reserved one.
        """
        for name in other.targets:
            if name in self.targets or name == RESERVED:
                raise NodesFileError(
                    f"the nodes file names a node {name!r}, a name this service gives a node of its own: "
                    "rename it"
                )
        return NodeRegistry(
            MappingProxyType({**self.targets, **other.targets}),
            MappingProxyType({**self.descriptions, **other.descriptions}),
            self.move_destinations | other.move_destinations,
        )


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
        web = isinstance(raw, Mapping) and raw.get("protocol") == "dicomweb"
        try:
            node = (_WebNode if web else _Node).model_validate(raw)
        except ValidationError as exc:
            # One line, without the input values (a url may carry credentials by mistake).
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'node'}: {e['msg']}" for e in exc.errors()
            )
            raise NodesFileError(f"{path}: node {name!r}: {problems}") from None
        if isinstance(node, _WebNode):
            nodes[name] = _web_target(name, node)
        else:
            nodes[name] = _target(name, node)
            if node.move_destination:
                destinations.add(name)
        descriptions[name] = node.description
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
        node.host,
        node.port,
        node.ae_title,
        name=name,
        tls=tls,
        max_associations=node.max_associations,
        retrieve=node.retrieve,
    )


def _web_target(name: str, node: _WebNode) -> Target:
    """A DICOMweb node: host and port come from its URL (for the audit trail and exposed addresses)."""
    for file in (node.token_file, node.password_file, node.ca_file):
        if file is not None and not file.is_file():
            raise NodesFileError(f"node {name!r}: file {file} does not exist")
    parts = urlsplit(node.url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise NodesFileError(f"node {name!r}: the url has an invalid port") from exc
    web = WebSettings(
        url=node.url.rstrip("/"),
        token_file=node.token_file,
        username=node.username,
        password_file=node.password_file,
        ca_file=node.ca_file,
        local_matching=node.local_matching,
    )
    return Target(parts.hostname or "", port, "", name=name, max_associations=node.max_connections, web=web)
