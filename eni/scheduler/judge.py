"""Judge: one node's verdict for one pod, and one request's judgement of many nodes, each node shape once.

Every verdict starts the same way (``eni.scheduler.candidates``: a readable pod, a configured node, the subnets
that may serve the pod there), then takes the rule of the pod's network: ``eni.scheduler.assess`` for a
shared-ENI pod over ``NodeCapacity.shape``, ``eni.scheduler.direct`` for a direct-ENI pod over
``NodeCapacity.direct_shape``. A node that holds what the very pod needs already (``PodNeeds.holding_nodes``:
its reserved exclusive ENI, its retained IP) fits whatever its shape says, so it is keyed by its name
instead. Pure: no locks, no I/O; a Judge lives for one request only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from eni.scheduler.assess import assess
from eni.scheduler.candidates import candidate_subnets
from eni.scheduler.direct import assess_direct
from eni.scheduler.model import INVALID_POD, NodeCapacity, PodNeeds, SubnetInfo, reason
from eni.scheduler.verdict import FITS_EXISTING_ENI, NOT_CONFIGURED, Assessment

_RESERVED_KEY = "reserved-for-the-pod"


def judge_node(needs: PodNeeds, node: NodeCapacity | None, *, subnets: Mapping[str, SubnetInfo],
               reserved: frozenset[str] = frozenset()) -> Assessment:
    """How ``node`` can serve a pod with ``needs``, given subnets' free IPs and the reserved subnets."""
    if needs.invalid:
        return Assessment(failure=reason(INVALID_POD, needs.invalid), unresolvable=True)
    if node is None or not node.configured:
        return NOT_CONFIGURED
    found = candidate_subnets(needs, node, subnets=subnets, reserved=reserved)
    if isinstance(found, Assessment):
        return found
    rule = assess_direct if needs.direct else assess
    return rule(needs, node, found, subnets=subnets)


class Judge:
    """``judge_node`` for one request, judging each node shape once."""

    __slots__ = ("_needs", "_subnets", "_reserved", "_by_shape", "_own")

    def __init__(self, needs: PodNeeds, *, subnets: Mapping[str, SubnetInfo], reserved: frozenset[str]) -> None:
        self._needs, self._subnets, self._reserved = needs, subnets, reserved
        self._by_shape: dict[int, Assessment] = {}
        self._own = needs.holding_nodes if not needs.invalid else frozenset()

    def keys(self, records: Sequence[NodeCapacity | None]) -> list[Hashable]:
        """For each record, a key that nodes judged alike share (None for unknown nodes)."""
        keys: list[Hashable]
        if self._needs.direct:
            keys = [record.direct_shape if record is not None else None for record in records]
        else:
            keys = [record.shape if record is not None else None for record in records]
        if self._own:
            for i, record in enumerate(records):
                if record is not None and record.name in self._own:
                    keys[i] = (_RESERVED_KEY, record.name)
        return keys

    def __call__(self, node: NodeCapacity | None) -> Assessment:
        if node is None:
            return judge_node(self._needs, None, subnets=self._subnets, reserved=self._reserved)
        if node.name in self._own and node.configured:
            return FITS_EXISTING_ENI
        shape = node.direct_shape if self._needs.direct else node.shape
        verdict = self._by_shape.get(shape)
        if verdict is None:
            verdict = judge_node(self._needs, node, subnets=self._subnets, reserved=self._reserved)
            self._by_shape[shape] = verdict
        return verdict
