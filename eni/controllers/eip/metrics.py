"""Prometheus series of the EIP controller: cloud operations on EIPs by operation and outcome.

``tke_eni_eip_operations_total{operation, outcome}``: ``operation`` is allocate, associate,
disassociate or release; ``outcome`` is ``success`` or the cloud error's class (``QuotaExceeded``,
``Throttled``...). The success series start at 0 so that dashboards see them before the first EIP.
Metrics only: this module must never decide anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter

T = TypeVar("T")

OPERATIONS = ("allocate", "associate", "disassociate", "release")
SUCCESS = "success"


class EipMetrics:
    """The EIP controller's collectors, on ``registry`` (a private one when None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.operations = Counter("tke_eni_eip_operations", "Cloud operations on EIPs by operation and outcome.",
                                  ["operation", "outcome"], registry=self.registry)
        for operation in OPERATIONS:
            self.operations.labels(operation, SUCCESS)

    def count(self, operation: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one cloud operation) and count it under ``operation`` with its outcome."""
        try:
            result = fn()
        except Exception as e:
            self.operations.labels(operation, type(e).__name__).inc()
            raise
        self.operations.labels(operation, SUCCESS).inc()
        return result

    def value(self, operation: str, outcome: str = SUCCESS) -> float:
        """The current count of ``operation`` with ``outcome`` (0 when never seen)."""
        sample = self.registry.get_sample_value("tke_eni_eip_operations_total",
                                                {"operation": operation, "outcome": outcome})
        return sample or 0.0
