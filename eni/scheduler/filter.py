"""Filter: split candidate nodes into those that can serve the pod's ENI IP (or exclusive ENI) and those that
cannot, with why.

Pure: the node records and subnet snapshot are frozen values read without locks; nothing here blocks,
performs I/O or raises on unknown nodes (a node the caches do not know fails as not configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eni.scheduler.judge import Judge
from eni.scheduler.model import NodeCapacity, PodNeeds, SubnetInfo


@dataclass(frozen=True, slots=True)
class FilterOutcome:
    """Nodes that passed, in request order, and the failed ones with their messages."""

    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Nodes that may fit once something changes (an IP freed, a pod preempted)."""
    unresolvable: dict[str, str] = field(default_factory=dict)
    """Nodes that no preemption can make fit (zone or configuration mismatch)."""


def filter_nodes(
    needs: PodNeeds,
    names: Iterable[str],
    *,
    nodes: Mapping[str, NodeCapacity],
    subnets: Mapping[str, SubnetInfo],
    reserved: frozenset[str] = frozenset(),
) -> FilterOutcome:
    """Judge every candidate node for a pod with ``needs``; duplicate names are judged once, and nodes of one
    shape (see ``NodeCapacity.shape``) share one judgement."""
    unique = list(dict.fromkeys(names))
    records = list(map(nodes.get, unique))
    # Judge each distinct shape once, then sort the names by their shape's verdict with comprehensions:
    # the per-node work stays a few C-level steps, which is what keeps 5,000 nodes in a few milliseconds.
    judge = Judge(needs, subnets=subnets, reserved=reserved)
    shapes = judge.keys(records)
    examples = dict(zip(shapes, records, strict=True))
    verdicts = {shape: judge(example) for shape, example in examples.items()}
    passing = {shape for shape, verdict in verdicts.items() if not verdict.failure}
    outcome = FilterOutcome(passed=[name for name, shape in zip(unique, shapes, strict=True) if shape in passing])
    if len(passing) == len(verdicts):
        return outcome
    soft = {shape: v.failure for shape, v in verdicts.items() if v.failure and not v.unresolvable}
    hard = {shape: v.failure for shape, v in verdicts.items() if v.unresolvable}
    if soft:
        outcome.failed.update({name: soft[shape] for name, shape in zip(unique, shapes, strict=True) if shape in soft})
    if hard:
        outcome.unresolvable.update(
            {name: hard[shape] for name, shape in zip(unique, shapes, strict=True) if shape in hard})
    return outcome
