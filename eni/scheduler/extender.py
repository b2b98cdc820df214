"""Extender: a filter or prioritize request in, its JSON answer out, over the index and subnet capacity.

It works out the pod's needs once per request (the pod, its claim or kept ENI, its annotations), takes one
subnet snapshot, then runs the pure filter or prioritize function over the precomputed node records. Pods
that request neither ``tke.cloud.tencent.com/eni-ip`` nor an exclusive ENI (``direct-eni``) pass untouched.
Until the cache handlers have seen their initial lists the extender refuses to judge (``NotReady``) rather
than fail nodes on missing data. It never calls the cloud or the API server.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from eni.scheduler.filter import filter_nodes
from eni.scheduler.index import ClusterIndex
from eni.scheduler.model import PodNeeds, SubnetCapacity, SubnetInfo
from eni.scheduler.podneeds import DIRECT, direct_pod_needs, managed_network, pod_key, pod_needs
from eni.scheduler.prioritize import score_nodes
from eni.scheduler.wire import ExtenderArgs, filter_result, host_priorities, passthrough_result


class NotReady(RuntimeError):
    """The caches have not synced: answering now would judge nodes on missing data."""


class Extender:
    """Judges candidate nodes for pods that request an ENI IP or an exclusive ENI."""

    def __init__(self, index: ClusterIndex, subnets: SubnetCapacity, *, only_nominated_subnets: bool = False) -> None:
        self.index = index
        self.subnets = subnets
        self.only_nominated_subnets = only_nominated_subnets

    def ready(self) -> bool:
        return self.index.has_synced()

    def needs(self, pod: Mapping[str, Any], subnets: Mapping[str, SubnetInfo], *,
              network: str | None = None) -> PodNeeds:
        """What ``pod`` asks of a node; ``network`` is ``managed_network(pod)`` when the caller has it."""
        namespace, name = pod_key(pod)
        if (network or managed_network(pod)) == DIRECT:
            return direct_pod_needs(pod, kept=self.index.kept_eni(namespace, name),
                                    holding_nodes=self.index.eni_nodes(namespace, name))
        return pod_needs(pod, claim=self.index.claim(namespace, name), subnet_of_ip=self.index.subnet_of_ip,
                         subnets=subnets, holder_of_ip=self._holder_of_ip,
                         nodes_holding_ip=functools.partial(self._nodes_holding, claim=f"{namespace}/{name}"))

    def _holder_of_ip(self, ip: str) -> str | None:
        held = self.index.vip(ip)
        return None if held is None else held.claim

    def _nodes_holding(self, ip: str, *, claim: str) -> frozenset[str]:
        """The node whose ENI has ``ip`` for ``claim`` (``namespace/name``) now; none while it is on no ENI."""
        held = self.index.vip(ip)
        if held is None or not held.eni_id or not held.node or held.claim != claim:
            return frozenset()
        return frozenset({held.node})

    def _reserved(self, needs: PodNeeds) -> frozenset[str]:
        return self.index.reserved_subnets if self.only_nominated_subnets and not needs.constrained else frozenset()

    def filter(self, args: ExtenderArgs) -> dict[str, Any]:
        """The ExtenderFilterResult for ``args``; raises NotReady before the caches synced."""
        network = managed_network(args.pod)
        if network is None:
            return passthrough_result(args)
        if not self.ready():
            raise NotReady("the extender's caches have not synced yet")
        subnets = self.subnets.snapshot()
        needs = self.needs(args.pod, subnets, network=network)
        outcome = filter_nodes(needs, args.candidates, nodes=self.index.nodes, subnets=subnets,
                               reserved=self._reserved(needs))
        return filter_result(args, outcome)

    def prioritize(self, args: ExtenderArgs) -> list[dict[str, Any]]:
        """The HostPriorityList for ``args``: zeros for unmanaged pods; raises NotReady before sync."""
        network = managed_network(args.pod)
        if network is None:
            return host_priorities([(name, 0) for name in args.candidates])
        if not self.ready():
            raise NotReady("the extender's caches have not synced yet")
        subnets = self.subnets.snapshot()
        needs = self.needs(args.pod, subnets, network=network)
        return host_priorities(score_nodes(needs, args.candidates, nodes=self.index.nodes, subnets=subnets,
                                           reserved=self._reserved(needs)))
