"""Judge: one request's judgement of nodes, each node shape judged once, by the rule of the pod's network.

Route-ENI pods are judged by ``eni.scheduler.assess`` over ``NodeCapacity.shape``, direct-ENI pods by
``eni.scheduler.direct`` over ``NodeCapacity.direct_shape``. A node holding an ENI reserved for the very pod
(``PodNeeds.eni_nodes``) fits whatever its shape says, so it is keyed by its name instead. Pure: no locks, no
I/O; a Judge lives for one request only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from eni.scheduler.assess import Assessment, assess
from eni.scheduler.direct import FITS_RESERVED_ENI, assess_direct
from eni.scheduler.model import NodeCapacity, PodNeeds, SubnetInfo

_RESERVED_KEY = "reserved-for-the-pod"


class Judge:
    """``assess`` or ``assess_direct`` for one request, judging each node shape once."""

    __slots__ = ("_needs", "_subnets", "_reserved", "_by_shape", "_rule", "_own")

    def __init__(self, needs: PodNeeds, *, subnets: Mapping[str, SubnetInfo], reserved: frozenset[str]) -> None:
        self._needs, self._subnets, self._reserved = needs, subnets, reserved
        self._by_shape: dict[int, Assessment] = {}
        self._rule = assess_direct if needs.direct else assess
        self._own = needs.eni_nodes if needs.direct and not needs.invalid else frozenset()

    def keys(self, records: Sequence[NodeCapacity | None]) -> list[Hashable]:
        """For each record, a key that nodes judged alike share (None for unknown nodes)."""
        if not self._needs.direct:
            return [record.shape if record is not None else None for record in records]
        keys: list[Hashable] = [record.direct_shape if record is not None else None for record in records]
        if self._own:
            for i, record in enumerate(records):
                if record is not None and record.name in self._own:
                    keys[i] = (_RESERVED_KEY, record.name)
        return keys

    def __call__(self, node: NodeCapacity | None) -> Assessment:
        if node is None:
            return self._rule(self._needs, None, subnets=self._subnets, reserved=self._reserved)
        if node.name in self._own and node.configured:
            return FITS_RESERVED_ENI
        shape = node.direct_shape if self._needs.direct else node.shape
        verdict = self._by_shape.get(shape)
        if verdict is None:
            verdict = self._rule(self._needs, node, subnets=self._subnets, reserved=self._reserved)
            self._by_shape[shape] = verdict
        return verdict
