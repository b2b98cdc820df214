"""Prometheus series of the Tencent adapter, on a registry the caller chooses.

- ``eni_cloud_api_calls_total{action,outcome}``: every request sent; outcome is ``success`` or the
  typed error's name in snake case (``throttled``, ``quota_exceeded``...).
- ``eni_cloud_api_call_duration_seconds{action}``: latency of one request, rate-limit wait excluded.
- ``eni_cloud_api_throttles_total{action,source}``: refusals for rate, ``source`` = ``server``|``client``.
- ``eni_cloud_api_retries_total{action}``: attempts after the first.
- ``eni_cloud_api_rate_limit_wait_seconds_total{action}``: time spent waiting for client-side tokens.

Without a registry the series go to a private one, so that several adapters (tests, benchmarks)
can coexist in one process; ``cmd`` passes the exported registry.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["CloudMetrics", "outcome_label"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def outcome_label(error: BaseException | None) -> str:
    """``success`` or the error class name in snake case.

    >>> outcome_label(None), outcome_label(KeyError())
    ('success', 'key_error')
    """
    if error is None:
        return "success"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


class CloudMetrics:
    """The adapter's counters and histograms."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "eni_cloud_api_calls_total",
            "Cloud API requests by action and outcome.",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eni_cloud_api_call_duration_seconds",
            "Latency of one cloud API request.",
            ["action"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.throttles = Counter(
            "eni_cloud_api_throttles_total",
            "Cloud API calls refused for rate, by the server or the client-side bucket.",
            ["action", "source"],
            registry=self.registry,
        )
        self.retries = Counter(
            "eni_cloud_api_retries_total",
            "Cloud API attempts after the first.",
            ["action"],
            registry=self.registry,
        )
        self.rate_limit_wait = Counter(
            "eni_cloud_api_rate_limit_wait_seconds_total",
            "Seconds spent waiting for a client-side rate-limit token.",
            ["action"],
            registry=self.registry,
        )
