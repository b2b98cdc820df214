"""The agent's Prometheus metrics: API latency and errors by reason, allocations (IPs and exclusive ENIs), pool
size, status publications.

Why here: the API edges report every call through ``AgentHandlers``' observer hook (``observe``), and the
gauges read the ledger and the pool when scraped, so no code path has to remember to update them.
Must never: raise from ``observe`` (it runs on the pod path) or hold a lock of the service while scraped.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["AgentMetrics", "LATENCY_BUCKETS"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; the agent's part of a CNI call is milliseconds, a slow kernel or disk shows in the upper ones."""


class AgentMetrics:
    """Registers the agent's metrics in ``registry``; ``allocations``/``pool_ips``/``direct_enis`` are read at
    scrape time."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        allocations: Callable[[], int],
        pool_ips: Callable[[], int],
        direct_enis: Callable[[], int] = lambda: 0,
    ) -> None:
        self.request_seconds = Histogram(
            "tke_eni_agent_request_duration_seconds",
            "Time the agent took to answer an API call (CNI ADD is PodNetwork Add), by method.",
            ["method"], registry=registry, buckets=LATENCY_BUCKETS,
        )
        self.request_errors = Counter(
            "tke_eni_agent_request_errors_total",
            "Agent API calls that failed, by method and reason (e.g. POOL_EXHAUSTED).",
            ["method", "reason"], registry=registry,
        )
        self.status_patches = Counter(
            "tke_eni_agent_status_patches_total",
            "Merge patches of the NodeENIConfig's status.agent sent to the API server.",
            registry=registry,
        )
        allocated = Gauge("tke_eni_agent_allocations", "Pod IPs allocated on this node right now.",
                          registry=registry)
        allocated.set_function(lambda: float(allocations()))
        pool = Gauge("tke_eni_agent_pool_ips",
                     "Secondary IPs bound to this node's shared ENIs (state Bound), the pool pods draw from.",
                     registry=registry)
        pool.set_function(lambda: float(pool_ips()))
        direct = Gauge("tke_eni_agent_direct_enis", "Exclusive ENIs held by pods of this node right now.",
                       registry=registry)
        direct.set_function(lambda: float(direct_enis()))

    def observe(self, method: str, seconds: float, reason: str) -> None:
        """``eni.agent.handlers.Observer``: one finished API call."""
        self.request_seconds.labels(method).observe(seconds)
        if reason:
            self.request_errors.labels(method, reason).inc()
