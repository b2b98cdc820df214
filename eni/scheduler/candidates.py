"""Candidates: which subnets may serve a pod on one node, the step both judgement rules start with.

For a pod whose subnets are not fixed: the subnets of the ENIs the node has attached that may serve it (route
ENIs for a shared-ENI pod, warm exclusive ENIs for a direct-ENI pod) and the node's own subnets for a new ENI,
less the subnets reserved for pods that nominate them (``--only-nominated-eni-subnets``). For a pod whose
subnets are fixed (a retained IP or a kept ENI, ``nominated-vpc-ip``, ``nominated-eni-subnets``): those of
them in the node's zone, for both. No subnet left is an unresolvable failure: no preemption changes it.

Reads only what ``NodeCapacity.shape`` (shared-ENI pods) and ``direct_shape`` (direct-ENI pods) name, since
nodes of one shape share one judgement. Pure: never blocks, never raises on odd data; messages carry no node
name so kube-scheduler can aggregate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eni.scheduler.model import (
    INSUFFICIENT_IP_OR_ENI,
    SUBNET_MISMATCH,
    NodeCapacity,
    PodNeeds,
    SubnetInfo,
    reason,
)
from eni.scheduler.verdict import Assessment


@dataclass(frozen=True, slots=True)
class Candidates:
    """The subnets that may serve one pod on one node, each list sorted."""

    attached: tuple[str, ...]
    """Subnets of ENIs the node has attached that may serve the pod (the rule checks their room)."""
    new_eni: tuple[str, ...]
    """Subnets in which a new ENI may be created for the pod."""

    @property
    def every(self) -> list[str]:
        return sorted(set(self.attached) | set(self.new_eni))


def candidate_subnets(needs: PodNeeds, node: NodeCapacity, *, subnets: Mapping[str, SubnetInfo],
                      reserved: frozenset[str]) -> Candidates | Assessment:
    """The subnets that may serve a pod with ``needs`` on ``node``, or the unresolvable failure of none."""
    attached = node.free_direct_enis if needs.direct else node.eni_free_slots
    if needs.subnets is None:
        found = Candidates(attached=tuple(sorted(s for s in attached if s not in reserved)),
                           new_eni=tuple(sorted(s for s in node.subnets if s not in reserved)))
        if found.attached or found.new_eni:
            return found
        detail = ("all of the node's subnets are reserved for pods that nominate them"
                  if reserved & (node.subnets | attached.keys()) else "the node has no subnet for ENIs")
        return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail), unresolvable=True)
    in_node_zone = tuple(sorted(s for s in needs.subnets if in_zone(s, node, subnets)))
    if not in_node_zone:
        return mismatch(needs, node, subnets)
    return Candidates(attached=in_node_zone, new_eni=in_node_zone)


def has_free(subnets: Mapping[str, SubnetInfo], subnet: str, count: int) -> bool:
    """Whether ``subnet`` can still hand out ``count`` addresses (an unknown count never counts as short)."""
    if count <= 0:
        return True
    info = subnets.get(subnet)
    return info is None or info.free_ips is None or info.free_ips >= count


def in_zone(subnet: str, node: NodeCapacity, subnets: Mapping[str, SubnetInfo]) -> bool:
    """Whether ``subnet`` lies in ``node``'s zone; with either zone unknown, whether the node has it: in its
    NodeENIConfig, or on an ENI it has attached (every ENI of a node is in the node's zone)."""
    info = subnets.get(subnet)
    if info is not None and info.zone and node.zone:
        return info.zone == node.zone
    return subnet in node.subnets or subnet in node.eni_free_slots or subnet in node.free_direct_enis


def mismatch(needs: PodNeeds, node: NodeCapacity, subnets: Mapping[str, SubnetInfo]) -> Assessment:
    """The unresolvable failure of a node whose zone none of the pod's subnets is in."""
    wanted = sorted(needs.subnets or ())
    zones = sorted({info.zone for s in wanted if (info := subnets.get(s)) is not None and info.zone})
    where = f" (zone {', '.join(zones)})" if zones else ""
    node_zone = f"zone {node.zone}" if node.zone else "a zone that cannot use them"
    if needs.kept_eni:
        what = f"kept ENI {needs.kept_eni} is in subnet"
    elif needs.retained_ip:
        what = f"retained IP {needs.retained_ip} is in subnet"
    else:
        what = "nominated subnets"
    detail = f"{what} {', '.join(wanted)}{where}; the node is in {node_zone}"
    return Assessment(failure=reason(SUBNET_MISMATCH, detail), unresolvable=True)
