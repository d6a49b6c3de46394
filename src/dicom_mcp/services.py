"""The process-wide resources the tools use, built once from settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from dicom_mcp.dicom.client import ClientConfig, DicomClient
from dicom_mcp.dicom.target import Target
from dicom_mcp.lifecycle import Activity
from dicom_mcp.metrics import Metrics
from dicom_mcp.nodes import NodeRegistry, load_nodes
from dicom_mcp.security.audit import AuditSink
from dicom_mcp.security.targets import TargetPolicy
from dicom_mcp.sessions.memory import MemoryStore
from dicom_mcp.sessions.redis import RedisStore
from dicom_mcp.sessions.resolver import SessionResolver
from dicom_mcp.sessions.store import SessionStore
from dicom_mcp.settings import Settings


@dataclass
class Services:
    """Everything a tool call may touch; owned by whoever runs the transport."""

    settings: Settings
    client: DicomClient
    store: SessionStore
    resolver: SessionResolver
    policy: TargetPolicy
    nodes: NodeRegistry
    audit: AuditSink
    metrics: Metrics
    activity: Activity = field(default_factory=Activity)

    async def aclose(self) -> None:
        """Release the store's connections and flush the audit trail."""
        try:
            await self.store.aclose()
        finally:
            self.audit.close()


def default_target(settings: Settings) -> Target:
    """The PACS a caller reaches without configuring anything."""
    return Target(settings.dicom_host, settings.dicom_port, settings.dicom_called_ae_title, name="default")


def build_store(settings: Settings) -> SessionStore:
    """The session store the URL in DICOM_MCP_SESSION_STORE names (memory:// or redis://...)."""
    if settings.session_store.startswith(("redis://", "rediss://")):
        return RedisStore(settings.session_store, ttl=settings.session_ttl)
    return MemoryStore(ttl=settings.session_ttl, max_entries=settings.session_max_entries)


def build_services(settings: Settings, *, stdout_is_protocol: bool = False) -> Services:
    """Create (but do not yet connect) every process-wide resource.

    With `stdout_is_protocol` (stdio transport), an audit log of "-" goes to stderr instead.
    """
    client = DicomClient(
        ClientConfig(
            calling_ae_title=settings.dicom_ae_title,
            connect_timeout=settings.connect_timeout,
            acse_timeout=settings.acse_timeout,
            dimse_timeout=settings.dimse_timeout,
            network_timeout=settings.network_timeout,
            query_deadline=settings.query_deadline,
            max_associations=settings.max_associations,
            association_lifetime=settings.association_lifetime,
        )
    )
    store = build_store(settings)
    target = default_target(settings)
    nodes = load_nodes(settings.nodes_file)
    audit_to = settings.audit_log
    metrics = Metrics()
    metrics.watch_associations(lambda: client.open_associations)
    return Services(
        settings=settings,
        client=client,
        store=store,
        resolver=SessionResolver(
            store,
            target,
            nodes=nodes.targets,
            max_per_principal=settings.max_sessions_per_principal,
            window=settings.session_ttl,
        ),
        policy=TargetPolicy.from_settings(settings.allowed_targets, target, nodes.targets),
        nodes=nodes,
        audit=AuditSink(audit_to, dash_stream=sys.stderr if stdout_is_protocol else sys.stdout),
        metrics=metrics,
    )
