"""The process-wide resources the tools use, built once from settings."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from dicom_mcp.dicomweb.client import DicomWebClient
from dicom_mcp.dimse.client import DicomClient
from dicom_mcp.dimse.receiver import Receiver, addresses_of
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.metrics import Metrics
from dicom_mcp.model.target import Target
from dicom_mcp.pacs.backend import ClientConfig
from dicom_mcp.pacs.budget import Budget, Pool
from dicom_mcp.pacs.nodes import NodeRegistry, load_nodes
from dicom_mcp.pacs.router import Backends
from dicom_mcp.privacy.keys import PseudonymKeys, load_keys
from dicom_mcp.sandbox import Sandbox, SandboxConfig
from dicom_mcp.security.audit import AuditSink
from dicom_mcp.security.auth import PSEUDONYMISED_SCOPE, load_api_keys
from dicom_mcp.security.targets import TargetPolicy
from dicom_mcp.settings import Settings
from dicom_mcp.state.activity import Activity
from dicom_mcp.state.limits import Limits, build_limits
from dicom_mcp.state.moves import MoveRelay
from dicom_mcp.state.pseudonyms import TokenMap, build_token_map
from dicom_mcp.state.redis_link import is_redis
from dicom_mcp.state.sessions.memory import MemoryStore
from dicom_mcp.state.sessions.redis import RedisStore
from dicom_mcp.state.sessions.resolver import SessionResolver
from dicom_mcp.state.sessions.store import SessionStore


@dataclass
class Services:
    """Everything a tool call may touch; owned by whoever runs the transport."""

    settings: Settings
    client: Backends
    store: SessionStore
    resolver: SessionResolver
    policy: TargetPolicy
    nodes: NodeRegistry
    audit: AuditSink
    metrics: Metrics
    limits: Limits
    sandbox: Sandbox
    bytes_in_flight: Pool
    token_map: TokenMap
    pseudonym_keys: PseudonymKeys | None = None
    receiver: Receiver | None = None
    activity: Activity = field(default_factory=Activity)

    def budget(self) -> Budget:
        """A new call's byte budget, drawn from the process's."""
        return Budget(self.settings.max_retrieve_bytes, self.bytes_in_flight)

    async def aclose(self) -> None:
        """Release the store's, the limits' and the DICOMweb nodes' connections and flush the audit trail."""
        try:
            await self.client.aclose()
            await self.sandbox.aclose()
            await self.store.aclose()
            await self.token_map.aclose()
            await self.limits.aclose()
            if self.receiver is not None:
                self.receiver.stop()
        finally:
            self.audit.close()


def default_target(settings: Settings) -> Target:
    """The PACS a caller reaches without configuring anything."""
    return Target(
        settings.dicom_host,
        settings.dicom_port,
        settings.dicom_called_ae_title,
        name="default",
        retrieve=settings.dicom_retrieve,
    )


def build_store(settings: Settings) -> SessionStore:
    """The session store the URL in DICOM_MCP_SESSION_STORE names (memory:// or redis://...)."""
    if is_redis(settings.session_store):
        return RedisStore(settings.session_store, ttl=settings.session_ttl)
    return MemoryStore(ttl=settings.session_ttl, max_entries=settings.session_max_entries)


def build_receiver(settings: Settings, targets: Sequence[Target]) -> Receiver | None:
    """The receiver, listening, when DICOM_MCP_RECEIVER_PORT is set; refused when a target needs it.

    It accepts associations from the DIMSE targets' addresses only.

    Raises:
        ConfigurationError: a target is read by C-MOVE (`retrieve = "move"`) and there is no receiver.
    """
    dimse = [t for t in targets if t.web is None]
    if settings.receiver_port is None:
        moved = [t.name or t.describe() for t in dimse if t.retrieve == "move"]
        if moved:
            raise ConfigurationError(
                f'reading {moved[0]!r} by C-MOVE (retrieve = "move", or DICOM_RETRIEVE=move) needs '
                "DICOM_MCP_RECEIVER_PORT"
            )
        return None
    # With replicas (the Redis store), the PACS may send to any of them: they hand instances on.
    relay = (
        MoveRelay(settings.session_store, settings.query_deadline + 60)
        if is_redis(settings.session_store)
        else None
    )
    receiver = Receiver(
        settings.dicom_ae_title,
        settings.receiver_host or settings.host,
        settings.receiver_port,
        addresses_of({t.host for t in dimse}),
        settings.max_retrieve_bytes,
        relay,
    )
    receiver.start()
    return receiver


def pseudonym_keys(settings: Settings) -> PseudonymKeys | None:
    """The pseudonym key, if set; refused when some caller is to be pseudonymised and none is set.

    Raises:
        ConfigurationError: the key file is unreadable or short, or is missing while
            DICOM_MCP_VIEW or a key in the API keys file asks for the pseudonymised view.
    """
    if settings.pseudonym_key_file is not None:
        return load_keys(settings.pseudonym_key_file)
    if settings.view == "pseudonymised":
        raise ConfigurationError("DICOM_MCP_VIEW=pseudonymised needs DICOM_MCP_PSEUDONYM_KEY_FILE")
    if settings.api_keys_file is not None and any(
        PSEUDONYMISED_SCOPE in key.permissions for key in load_api_keys(settings.api_keys_file)
    ):
        raise ConfigurationError(
            f"the API keys file grants {PSEUDONYMISED_SCOPE}, which needs DICOM_MCP_PSEUDONYM_KEY_FILE"
        )
    return None


def build_services(
    settings: Settings, *, stdout_is_protocol: bool = False, extra_nodes: NodeRegistry | None = None
) -> Services:
    """Create (but do not yet connect) every process-wide resource.

    With `stdout_is_protocol` (stdio transport), an audit log of "-" goes to stderr instead.
    `extra_nodes` join the nodes file's (`--demo` brings its sample archive this way).
    """
    config = ClientConfig(
        calling_ae_title=settings.dicom_ae_title,
        connect_timeout=settings.connect_timeout,
        acse_timeout=settings.acse_timeout,
        dimse_timeout=settings.dimse_timeout,
        network_timeout=settings.network_timeout,
        query_deadline=settings.query_deadline,
        max_associations=settings.max_associations,
        association_lifetime=settings.association_lifetime,
    )
    limits = build_limits(settings)
    nodes = load_nodes(settings.nodes_file)
    if extra_nodes is not None:
        nodes = nodes.merged(extra_nodes)
    target = default_target(settings)
    receiver = build_receiver(settings, [target, *nodes.targets.values()])
    dimse = DicomClient(config, slots=limits.leases, receiver=receiver)
    client = Backends(dimse, DicomWebClient(config, slots=limits.leases))
    store = build_store(settings)
    audit_to = settings.audit_log
    metrics = Metrics()
    metrics.watch_associations(lambda: client.in_flight)
    if limits.leases is not None:
        metrics.watch_leases(limits.leases)
    if receiver is not None:
        metrics.watch_receiver(receiver)
    return Services(
        settings=settings,
        client=client,
        store=store,
        resolver=SessionResolver(
            store,
            target,
            nodes=nodes.targets,
            new_sessions=limits.new_sessions,
        ),
        policy=TargetPolicy.from_settings(settings.allowed_targets, target, nodes.targets),
        nodes=nodes,
        audit=AuditSink(audit_to, dash_stream=sys.stderr if stdout_is_protocol else sys.stdout),
        metrics=metrics,
        limits=limits,
        sandbox=Sandbox(
            SandboxConfig(settings.parse_workers, settings.parse_timeout, settings.parse_max_memory)
        ),
        bytes_in_flight=Pool(settings.max_bytes_in_flight),
        token_map=build_token_map(
            settings.session_store, settings.pseudonym_ttl, settings.session_max_entries * 100
        ),
        pseudonym_keys=pseudonym_keys(settings),
        receiver=receiver,
    )
