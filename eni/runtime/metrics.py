"""Prometheus series of the runtime framework, registered on one CollectorRegistry per manager.

A registry per manager (rather than prometheus_client's global one) lets tests and the simulator run several
managers in one process without duplicate-series errors. Names keep upstream's labels with an ``eni_`` prefix:
``eni_workqueue_depth{name}``, ``eni_reconcile_total{controller,result}``. Nothing here may block or raise
into a caller on the hot path: the bound children are resolved once, outside the queue's lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Work and reconcile latencies span microseconds (cache hits) to minutes (cloud calls).
_LATENCY_BUCKETS = (1e-5, 1e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

RECONCILE_RESULTS = ("success", "error", "requeue_after")
"""The values of ``eni_reconcile_total``'s ``result`` label."""


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """The series of one named work queue, with labels already bound."""

    depth: Gauge
    adds: Counter
    queue_duration: Histogram
    work_duration: Histogram
    retries: Counter


@dataclass(frozen=True, slots=True)
class ReconcileMetrics:
    """The series of one named controller, with labels already bound."""

    success: Counter
    error: Counter
    requeue_after: Counter
    errors: Counter
    duration: Histogram


class RuntimeMetrics:
    """Every metric family of the framework, on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._depth = Gauge("eni_workqueue_depth", "Current depth of the work queue.", ["name"], registry=r)
        self._adds = Counter("eni_workqueue_adds", "Adds handled by the work queue.", ["name"], registry=r)
        self._queue_duration = Histogram(
            "eni_workqueue_queue_duration_seconds",
            "Seconds an item stays in the queue before it is requested.",
            ["name"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._work_duration = Histogram(
            "eni_workqueue_work_duration_seconds",
            "Seconds processing an item takes.",
            ["name"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._retries = Counter("eni_workqueue_retries", "Retries handled by the work queue.", ["name"], registry=r)
        self._reconcile = Counter(
            "eni_reconcile", "Reconciliations per controller and result.", ["controller", "result"], registry=r
        )
        self._reconcile_errors = Counter(
            "eni_reconcile_errors", "Reconciliations that ended in an error.", ["controller"], registry=r
        )
        self._reconcile_time = Histogram(
            "eni_reconcile_time_seconds",
            "Seconds per reconciliation.",
            ["controller"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._leader = Gauge(
            "eni_leader_election_master_status", "1 while this process holds the lease.", ["name"], registry=r
        )

    def queue(self, name: str) -> QueueMetrics:
        """The bound series of queue ``name``; created at 0 so they appear before the first add."""
        return QueueMetrics(
            depth=self._depth.labels(name),
            adds=self._adds.labels(name),
            queue_duration=self._queue_duration.labels(name),
            work_duration=self._work_duration.labels(name),
            retries=self._retries.labels(name),
        )

    def reconcile(self, controller: str) -> ReconcileMetrics:
        """The bound series of controller ``controller``, initialised to 0 (upstream's initMetrics)."""
        return ReconcileMetrics(
            success=self._reconcile.labels(controller, "success"),
            error=self._reconcile.labels(controller, "error"),
            requeue_after=self._reconcile.labels(controller, "requeue_after"),
            errors=self._reconcile_errors.labels(controller),
            duration=self._reconcile_time.labels(controller),
        )

    def leader(self, name: str) -> Gauge:
        """The leader-status gauge of lease ``name``."""
        return self._leader.labels(name)
