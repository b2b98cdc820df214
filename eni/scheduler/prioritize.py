"""Prioritize: score candidate nodes 0..10 for a pod's ENI IP or exclusive ENI.

10: an attached ENI in one of the pod's subnets has a free slot (a direct-ENI pod: a warm exclusive ENI is
free, or one reserved for the pod is attached); 5: the node must attach a new ENI; 0: it cannot serve the
pod (filter would have dropped it). Pure, like filter: no locks, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eni.scheduler.judge import Judge
from eni.scheduler.model import NodeCapacity, PodNeeds, SubnetInfo

MIN_SCORE = 0
MAX_SCORE = 10
"""kube-scheduler's MaxExtenderPriority; it scales extender scores by weight × (100 / 10)."""


def score_nodes(
    needs: PodNeeds,
    names: Sequence[str],
    *,
    nodes: Mapping[str, NodeCapacity],
    subnets: Mapping[str, SubnetInfo],
    reserved: frozenset[str] = frozenset(),
) -> list[tuple[str, int]]:
    """(node, score) for every candidate, in request order; nodes of one shape are scored once."""
    judge = Judge(needs, subnets=subnets, reserved=reserved)
    return [(name, verdict.score) for name, verdict in zip(names, map(judge, map(nodes.get, names)), strict=True)]
