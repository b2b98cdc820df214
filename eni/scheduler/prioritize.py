"""Prioritize: score candidate nodes 0..10 for a pod's ENI IP or exclusive ENI.

10: an attached ENI in one of the pod's subnets has a free slot, or holds the pod's retained IP (a direct-ENI
pod: a warm exclusive ENI is free, or one reserved for the pod is attached); 5: the node must attach a new
ENI; 0: it cannot serve the pod (filter would have dropped it). Pure, like filter: no locks, no I/O.
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
    records = list(map(nodes.get, names))
    keys = judge.keys(records)
    # As in filter: one judgement per distinct key, then a C-level lookup per node.
    scores = {key: judge(record).score for key, record in dict(zip(keys, records, strict=True)).items()}
    return list(zip(names, map(scores.__getitem__, keys), strict=True))
