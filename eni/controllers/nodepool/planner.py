""""Fewest ENIs": which ENI gets new IPs, which IPs go back, where a new ENI goes, which ENI can go.

Rules (PRODUCT.md): fill the ENI with the most IPs in use; release from the ENI with the fewest in
use; create a new ENI only when the attached ones are full or their subnet is exhausted, in the
zone's subnet with the most free IPs; delete an ENI once it holds no secondary IP and none are
needed; never remove an ENI whose primary IP a pod uses. Pure functions over frozen values: this
module must never call the cloud or the API.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class EniSlot:
    """One attached secondary ENI of a node as the planner sees it."""

    eni_id: str
    subnet_id: str
    primary_ip: str
    bound: tuple[str, ...] = ()
    """Secondary IPs in state Bound."""
    releasing: tuple[str, ...] = ()
    """Secondary IPs in state Releasing (still assigned in the VPC)."""

    @property
    def ip_count(self) -> int:
        return len(self.bound) + len(self.releasing)

    def in_use(self, used: Collection[str]) -> int:
        return sum(1 for ip in self.bound if ip in used)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Assign ``count`` new IPs to ``eni_id``."""

    eni_id: str
    count: int


@dataclass(frozen=True, slots=True)
class SubnetChoice:
    """A candidate subnet for a new ENI."""

    subnet_id: str
    free_ips: int


def plan_assignments(
    slots: Sequence[EniSlot], need: int, *, max_ips_per_eni: int, used: Collection[str],
    exhausted_subnets: Collection[str] = (),
) -> tuple[list[Assignment], int]:
    """Spread ``need`` new IPs over attached ENIs, fullest-in-use first; returns (assignments, still needed).

    >>> slots = [EniSlot(eni_id="eni-a", subnet_id="s", primary_ip="p", bound=("1",)),
    ...          EniSlot(eni_id="eni-b", subnet_id="s", primary_ip="q", bound=("2", "3"))]
    >>> plan_assignments(slots, 3, max_ips_per_eni=3, used={"1"})
    ([Assignment(eni_id='eni-a', count=2), Assignment(eni_id='eni-b', count=1)], 0)
    """
    if need < 0 or max_ips_per_eni < 0:
        raise ValueError("need and max_ips_per_eni must be >= 0")
    order = sorted(slots, key=lambda s: (-s.in_use(used), -s.ip_count, s.eni_id))
    plan: list[Assignment] = []
    for slot in order:
        if need == 0:
            break
        if slot.subnet_id in exhausted_subnets:
            continue
        room = max_ips_per_eni - slot.ip_count
        if room > 0:
            take = min(room, need)
            plan.append(Assignment(slot.eni_id, take))
            need -= take
    return plan, need


def choose_releases(slots: Sequence[EniSlot], count: int, *, used: Collection[str]) -> list[str]:
    """``count`` idle Bound IPs (or fewer if there are not that many), from the ENIs with fewest in use.

    >>> slots = [EniSlot(eni_id="eni-a", subnet_id="s", primary_ip="p", bound=("1", "2")),
    ...          EniSlot(eni_id="eni-b", subnet_id="s", primary_ip="q", bound=("3", "4"))]
    >>> choose_releases(slots, 2, used={"1"})
    ['3', '4']
    """
    order = sorted(slots, key=lambda s: (s.in_use(used), s.ip_count, s.eni_id))
    chosen: list[str] = []
    for slot in order:
        for ip in sorted(slot.bound, reverse=True):
            if len(chosen) >= count:
                return chosen
            if ip not in used:
                chosen.append(ip)
    return chosen


def choose_subnet(candidates: Iterable[SubnetChoice], *, exhausted: Collection[str] = ()) -> str | None:
    """The subnet with the most free IPs that is not known to be exhausted; None when there is none.

    >>> choose_subnet([SubnetChoice("subnet-a", 3), SubnetChoice("subnet-b", 9)], exhausted={"subnet-b"})
    'subnet-a'
    """
    usable = [c for c in candidates if c.subnet_id not in exhausted and c.free_ips > 0]
    if not usable:
        return None
    return max(usable, key=lambda c: (c.free_ips, c.subnet_id)).subnet_id


def removable_enis(slots: Sequence[EniSlot], *, used: Collection[str], ips_needed: int) -> list[str]:
    """ENIs that hold no secondary IP and whose primary IP no pod uses, when no IP is needed."""
    if ips_needed > 0:
        return []
    return [s.eni_id for s in slots if s.ip_count == 0 and s.primary_ip not in used]
