"""Prometheus series of the extender, on the registry the program serves at /metrics.

``eni_scheduler_extender_requests_total{verb,result}``, ``eni_scheduler_extender_request_duration_seconds{verb}``
and ``eni_scheduler_extender_nodes_total{verb,outcome}`` (candidates passed, failed, unresolvable). Bound
children are resolved once here, so the request path only increments; nothing here blocks or raises.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

VERBS = ("filter", "prioritize")
RESULTS = ("ok", "bad_request", "not_ready", "error")
OUTCOMES = ("passed", "failed", "unresolvable")

_BUCKETS = (1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ExtenderMetrics:
    """Every series of the extender, registered on ``registry`` (a private one when None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        requests = Counter("eni_scheduler_extender_requests", "Extender requests by verb and result.",
                           ["verb", "result"], registry=self.registry)
        duration = Histogram("eni_scheduler_extender_request_duration_seconds",
                             "Seconds from a request's body being read to its answer being built.", ["verb"],
                             buckets=_BUCKETS, registry=self.registry)
        nodes = Counter("eni_scheduler_extender_nodes", "Candidate nodes judged, by verb and outcome.",
                        ["verb", "outcome"], registry=self.registry)
        self.requests = {(verb, result): requests.labels(verb, result) for verb in VERBS for result in RESULTS}
        self.duration = {verb: duration.labels(verb) for verb in VERBS}
        self.nodes = {(verb, outcome): nodes.labels(verb, outcome) for verb in VERBS for outcome in OUTCOMES}

    def request(self, verb: str, *, result: str, seconds: float) -> None:
        self.requests[(verb, result)].inc()
        self.duration[verb].observe(seconds)

    def judged(self, verb: str, *, passed: int, failed: int = 0, unresolvable: int = 0) -> None:
        for outcome, count in (("passed", passed), ("failed", failed), ("unresolvable", unresolvable)):
            if count:
                self.nodes[(verb, outcome)].inc(count)
