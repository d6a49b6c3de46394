"""Prometheus metrics, one registry per app (so every test app starts from zero)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dicom_mcp.model.target import Target

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def node_label(target: Target) -> str:
    """Label values stay few: the node name, or "ad-hoc" for allowlisted host:port targets."""
    return target.name or "ad-hoc"


class LeaseCounts(Protocol):
    """What the shared association slots report (state/limits/leases.py)."""

    @property
    def held(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def waits(self) -> int: ...


class _LeaseCollector(Collector):
    def __init__(self, leases: LeaseCounts) -> None:
        self._leases = leases

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "dicom_mcp_association_leases",
            "Association slots this replica holds in the shared (Redis) limit",
            value=self._leases.held,
        )
        yield GaugeMetricFamily(
            "dicom_mcp_association_slot_waiters",
            "Calls of this replica waiting for a shared association slot now",
            value=self._leases.waiting,
        )
        yield CounterMetricFamily(
            "dicom_mcp_association_slot_waits",
            "Calls of this replica that found every shared association slot taken and waited",
            value=self._leases.waits,
        )


class ReceiverCounts(Protocol):
    @property
    def refusals(self) -> Mapping[str, int]: ...

    @property
    def instances(self) -> Mapping[str, int]: ...


class _ReceiverCollector(Collector):
    def __init__(self, receiver: ReceiverCounts) -> None:
        self._receiver = receiver

    def collect(self) -> Iterator[Metric]:
        refused = CounterMetricFamily(
            "dicom_mcp_receiver_refused",
            "Associations and C-STOREs the receiver refused, by reason "
            "(host, not awaited, not asked for, too large, store unavailable)",
            labels=["reason"],
        )
        for reason, count in sorted(self._receiver.refusals.items()):
            refused.add_metric([reason], count)
        yield refused
        taken = CounterMetricFamily(
            "dicom_mcp_receiver_instances",
            "Instances the receiver took for a retrieval: kept (for one of this replica's), handed on "
            "(to another replica's, through Redis) or from another replica",
            labels=["path"],
        )
        for path, count in sorted(self._receiver.instances.items()):
            taken.add_metric([path], count)
        yield taken


class Metrics:
    """The service's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tool_calls = Counter(
            "dicom_mcp_tool_calls",
            "Tool calls by tool and outcome",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.dicom_seconds = Histogram(
            "dicom_mcp_dicom_operation_seconds",
            "Latency of DICOM operations (C-ECHO, C-FIND) by node",
            ["node", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.open_associations = Gauge(
            "dicom_mcp_open_associations", "DICOM associations open right now", registry=self.registry
        )
        self.live_sessions = Gauge(
            "dicom_mcp_live_sessions",
            "Session store entries (handles and bound connections)",
            registry=self.registry,
        )
        self.store_errors = Counter(
            "dicom_mcp_store_errors", "Session store operations that failed", registry=self.registry
        )
        self.refused = Counter(
            "dicom_mcp_refused_requests",
            "MCP requests refused, by HTTP status",
            ["status"],
            registry=self.registry,
        )

    def watch_leases(self, leases: LeaseCounts) -> None:
        """Report the association slots this replica holds in Redis, and its waits for one."""
        self.registry.register(_LeaseCollector(leases))

    def watch_receiver(self, receiver: ReceiverCounts) -> None:
        """Export the receiver's refusals (by reason) and the instances it took (by path)."""
        self.registry.register(_ReceiverCollector(receiver))

    def watch_associations(self, read: Callable[[], int]) -> None:
        """Report the DICOM client's open associations at each scrape."""
        self.open_associations.set_function(read)

    @contextmanager
    def timed(self, target: Target, operation: str) -> Iterator[None]:
        """Observe the duration of one DICOM operation, failed or not."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.dicom_seconds.labels(node_label(target), operation).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)
