"""Whether one node can serve one pod's ENI IP, and how well: the rule shared by filter and prioritize.

A node fits a route-ENI pod when one of the pod's candidate subnets has
- an attached route ENI with a free secondary-IP slot, and a free address in the subnet (score 10), or else
- room for one more ENI on the node and two free addresses in the subnet: the new ENI's primary IP and
  the pod's (score 5).
A retained IP is already the pod's, so it needs a slot but no new address. Candidate subnets are the
node's own (minus subnets reserved for nominating pods) for an ordinary pod, and the pod's subnets that
lie in the node's zone for a pod with a retained IP or nominated subnets. A failure says why, prefixed
``[ip-scheduler]``; zone and configuration mismatches are unresolvable (no preemption can fix them).

Pure: reads frozen values only, never blocks, never raises on odd data. Messages carry no node name so
that kube-scheduler can aggregate them across nodes. Direct-ENI pods are judged by ``eni.scheduler.direct``
and both rules are dispatched, once per node shape, by ``eni.scheduler.judge``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eni.scheduler.model import (
    ENI_LIMIT_EXCEED,
    INSUFFICIENT_IP_OR_ENI,
    INVALID_POD,
    SUBNET_MISMATCH,
    NodeCapacity,
    PodNeeds,
    SubnetInfo,
    reason,
)

SCORE_EXISTING_ENI = 10
"""An attached ENI of the pod's subnet has room: no cloud call beyond one IP assignment."""
SCORE_NEW_ENI = 5
"""The node must create and attach an ENI first: slower and uses up an ENI."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """A node's fitness for a pod: a score when it fits, else the failure message."""

    score: int = 0
    failure: str = ""
    unresolvable: bool = False

    @property
    def fits(self) -> bool:
        return not self.failure


FITS_EXISTING_ENI = Assessment(score=SCORE_EXISTING_ENI)
FITS_NEW_ENI = Assessment(score=SCORE_NEW_ENI)
NOT_CONFIGURED = Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, "the node has no NodeENIConfig"),
                            unresolvable=True)


def assess(
    needs: PodNeeds,
    node: NodeCapacity | None,
    *,
    subnets: Mapping[str, SubnetInfo],
    reserved: frozenset[str] = frozenset(),
) -> Assessment:
    """How ``node`` can serve a pod with ``needs``, given subnets' free IPs and the reserved subnets."""
    if needs.invalid:
        return Assessment(failure=reason(INVALID_POD, needs.invalid), unresolvable=True)
    if node is None or not node.configured:
        return NOT_CONFIGURED
    if needs.subnets is None:
        eni_subnets: Iterable[str] = [s for s in node.eni_free_slots if s not in reserved]
        new_eni_subnets: Iterable[str] = [s for s in node.subnets if s not in reserved]
        if not eni_subnets and not new_eni_subnets:
            detail = "all of the node's subnets are reserved for pods that nominate them" if (
                node.usable_subnets) else "the node has no subnet for ENIs"
            return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail), unresolvable=True)
        addresses = 1
    else:
        zone_subnets = [s for s in needs.subnets if in_zone(s, node, subnets)]
        if not zone_subnets:
            return mismatch(needs, node, subnets)
        eni_subnets = new_eni_subnets = zone_subnets
        addresses = 0 if needs.retained_ip else 1
    slots = node.eni_free_slots
    for subnet in eni_subnets:
        if slots.get(subnet, 0) > 0 and has_free(subnets, subnet, addresses):
            return FITS_EXISTING_ENI
    if node.can_attach_eni:
        for subnet in new_eni_subnets:
            if has_free(subnets, subnet, addresses + 1):
                return FITS_NEW_ENI
    return _shortage(node, candidates=sorted(set(eni_subnets) | set(new_eni_subnets)), addresses=addresses,
                     subnets=subnets)


def has_free(subnets: Mapping[str, SubnetInfo], subnet: str, count: int) -> bool:
    """Whether ``subnet`` can still hand out ``count`` addresses (an unknown count never counts as short)."""
    if count <= 0:
        return True
    info = subnets.get(subnet)
    return info is None or info.free_ips is None or info.free_ips >= count


def in_zone(subnet: str, node: NodeCapacity, subnets: Mapping[str, SubnetInfo]) -> bool:
    """Whether ``subnet`` lies in ``node``'s zone; with either zone unknown, whether it is one of the node's."""
    info = subnets.get(subnet)
    if info is not None and info.zone and node.zone:
        return info.zone == node.zone
    # Zone unknown on either side: only the node's own subnets are safe.
    return subnet in node.subnets or subnet in node.eni_free_slots


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


def _shortage(node: NodeCapacity, *, candidates: list[str], addresses: int,
              subnets: Mapping[str, SubnetInfo]) -> Assessment:
    with_ips = [s for s in candidates if has_free(subnets, s, max(addresses, 1))]
    if not node.can_attach_eni and (with_ips or addresses == 0):
        detail = (f"no ENI in {', '.join(with_ips or candidates)} has a free IP slot and the node has "
                  f"{node.eni_count} of {node.max_eni} ENIs attached")
        return Assessment(failure=reason(ENI_LIMIT_EXCEED, detail))
    if with_ips:
        detail = f"{', '.join(with_ips)} cannot hold a new ENI's primary IP and the pod's IP"
    else:
        detail = f"{', '.join(candidates)} {'has' if len(candidates) == 1 else 'have'} no free IP"
    return Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, detail))
