"""ipamd's Prometheus metrics: per-node pool gauges, reconcile latency and cloud calls by outcome.

``CloudCalls.call`` wraps every cloud call of the controllers so the counter sees each one with its
outcome (``ok`` or the error class). Metrics only: this module must never decide anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

T = TypeVar("T")


class IpamdMetrics:
    """The collectors, registered on ``registry`` (a private one when None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        labels = ["node"]
        self.bound_ips = Gauge("tke_eni_node_bound_ips", "Secondary IPs in state Bound.", labels,
                               registry=self.registry)
        self.used_ips = Gauge("tke_eni_node_used_ips", "IPs held by pods.", labels, registry=self.registry)
        self.idle_ips = Gauge("tke_eni_node_idle_ips", "Bound IPs no pod holds.", labels, registry=self.registry)
        self.releasing_ips = Gauge("tke_eni_node_releasing_ips", "IPs waiting for the agent's release.", labels,
                                   registry=self.registry)
        self.enis = Gauge("tke_eni_node_enis", "Attached secondary ENIs.", labels, registry=self.registry)
        self.direct_enis = Gauge("tke_eni_node_direct_enis", "Attached exclusive ENIs, by handshake state.",
                                 ["node", "state"], registry=self.registry)
        self.used_direct_enis = Gauge("tke_eni_node_used_direct_enis", "Exclusive ENIs held by pods.", labels,
                                      registry=self.registry)
        self.reconcile_seconds = Histogram("tke_eni_node_reconcile_seconds", "Duration of one node reconcile.",
                                           registry=self.registry)
        self.cloud_calls = Counter("tke_eni_ipamd_cloud_calls", "Cloud API calls by action and outcome.",
                                   ["action", "outcome"], registry=self.registry)

    def forget_node(self, node: str) -> None:
        for gauge, labels in ((self.bound_ips, [node]), (self.used_ips, [node]), (self.idle_ips, [node]),
                              (self.releasing_ips, [node]), (self.enis, [node]), (self.used_direct_enis, [node]),
                              (self.direct_enis, [node, "Bound"]), (self.direct_enis, [node, "Releasing"])):
            try:
                gauge.remove(*labels)
            except KeyError:
                pass


class CloudCalls:
    """Runs cloud calls and counts them by action and outcome."""

    def __init__(self, metrics: IpamdMetrics) -> None:
        self._metrics = metrics

    def call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            result = fn()
        except Exception as e:
            self._metrics.cloud_calls.labels(action, type(e).__name__).inc()
            raise
        self._metrics.cloud_calls.labels(action, "ok").inc()
        return result
