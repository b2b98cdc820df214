"""The values the extender judges with: a node's IP/ENI capacity (shared and exclusive ENIs), a subnet's free
IPs, a pod's needs.

Everything here is a frozen value built by the cache handlers (``eni.scheduler.index``) or per
request, so the pure filter and prioritize functions can read them from any thread without locks.
``SubnetCapacity`` is the seam for subnets' free-IP counts: derived from the cluster's objects or
refreshed from the cloud in the background. Nothing here performs I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

REASON_PREFIX = "[ip-scheduler]"
INSUFFICIENT_IP_OR_ENI = "InsufficientIPorENI"
"""The node's usable subnets have no free IP (or it has no usable subnet at all)."""
ENI_LIMIT_EXCEED = "ENILimitExceed"
"""The node's ENIs in the usable subnets are full and it cannot attach another ENI."""
SUBNET_MISMATCH = "SubnetMismatch"
"""The pod's subnets (retained IP, nominated subnets) are not usable in the node's zone."""
INVALID_POD = "InvalidPodAnnotation"
"""The pod's annotations cannot be read; no node can serve it until they are fixed."""

RESERVED_ADDRESSES_PER_SUBNET = 3
"""Network, gateway and broadcast addresses, which the VPC never hands out."""

_NO_SLOTS: Mapping[str, int] = MappingProxyType({})
# Shape keys seen so far, each with its id; bounded by the cluster's variety of node configurations.
_SHAPES: dict[tuple[object, ...], int] = {}
_SHAPE_IDS = itertools.count(1)  # next() is atomic: two threads never get one id


def reason(code: str, detail: str) -> str:
    """A failure message as kube-scheduler shows it in the pod's events.

    >>> reason(ENI_LIMIT_EXCEED, "node-1 has 3 of 3 ENIs, all full")
    '[ip-scheduler] ENILimitExceed: node-1 has 3 of 3 ENIs, all full'
    """
    return f"{REASON_PREFIX} {code}: {detail}"


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    """A subnet as the extender sees it: its zone and how many addresses are still free."""

    id: str
    zone: str = ""
    """Availability zone; empty when not known."""
    free_ips: int | None = None
    """Addresses the VPC can still hand out; None when not known (never treated as exhausted)."""
    cidr: str = ""

    def has_free(self, count: int) -> bool:
        return self.free_ips is None or self.free_ips >= count


class SubnetCapacity(Protocol):
    """Where subnets' zones and free-IP counts come from. Implementations are thread-safe and never call the
    cloud from ``snapshot``: it answers from memory, in microseconds."""

    def snapshot(self) -> Mapping[str, SubnetInfo]:
        """Every known subnet by id, as of now."""
        ...


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    """What one node can still take, precomputed from its NodeENIConfig and the VpcIPs on its ENIs."""

    name: str
    zone: str = ""
    """Availability zone of the node; empty when neither its NodeENIConfig nor its Node label says."""
    configured: bool = False
    """Whether the node has a NodeENIConfig (without one it cannot get ENI IPs at all)."""
    subnets: frozenset[str] = frozenset()
    """Subnets in which ipamd may create a new ENI for this node (NodeENIConfig spec.subnetIds)."""
    eni_free_slots: Mapping[str, int] = field(default_factory=lambda: _NO_SLOTS)
    """Per subnet of the node's attached route ENIs: secondary-IP slots still free on those ENIs."""
    eni_count: int = 0
    """Route ENIs attached."""
    max_eni: int = 0
    """Route ENIs the node may attach."""
    free_direct_enis: Mapping[str, int] = field(default_factory=lambda: _NO_SLOTS)
    """Per subnet: warm exclusive ENIs any direct-ENI pod may get now (Bound, held by no pod, kept for none)."""
    direct_eni_count: int = 0
    """Exclusive ENIs attached, in any state."""
    max_direct_eni: int = 0
    """Exclusive ENIs the node may attach."""

    shape: int = field(init=False, default=0, compare=False, repr=False)
    """Names everything a judgement of a route-ENI pod depends on except the node's name: nodes of one shape
    get the same answer, so a request judges each shape once. An interned small int, because hashing the
    tuple itself for each of 5,000 nodes would cost more than the judgement."""
    direct_shape: int = field(init=False, default=0, compare=False, repr=False)
    """The same for a direct-ENI pod, whose judgement depends on the exclusive ENIs instead."""

    def __post_init__(self) -> None:
        # Both keys name every subnet the node has an ENI in: with a subnet's zone unknown, having an ENI in it
        # is what places the subnet in the node's zone (``eni.scheduler.candidates.in_zone``).
        slots = tuple(sorted((subnet, free > 0) for subnet, free in self.eni_free_slots.items()))
        warm = tuple(sorted(subnet for subnet, free in self.free_direct_enis.items() if free > 0))
        key = (self.configured, self.zone, self.subnets, slots, warm, self.eni_count, self.max_eni)
        object.__setattr__(self, "shape", _SHAPES.setdefault(key, next(_SHAPE_IDS)))
        direct_key = ("direct", self.configured, self.zone, self.subnets, tuple(subnet for subnet, _ in slots), warm,
                      self.direct_eni_count, self.max_direct_eni)
        object.__setattr__(self, "direct_shape", _SHAPES.setdefault(direct_key, next(_SHAPE_IDS)))

    @property
    def can_attach_eni(self) -> bool:
        return self.eni_count < self.max_eni

    @property
    def can_attach_direct_eni(self) -> bool:
        return self.direct_eni_count < self.max_direct_eni

    @property
    def usable_subnets(self) -> frozenset[str]:
        """Subnets of its ENIs plus those where it may create one."""
        return self.subnets | frozenset(self.eni_free_slots)


@dataclass(frozen=True, slots=True)
class PodNeeds:
    """What a pod that requests an ENI IP, or a whole exclusive ENI, asks of a node.

    ``subnets`` None means "any subnet the node can use" (minus subnets reserved for nominating pods);
    otherwise only these subnets may serve the pod, and only on nodes of their zones.
    """

    subnets: frozenset[str] | None = None
    retained_ip: str = ""
    """An IP the pod's claim keeps across pod deletion; it needs an ENI slot but no new address."""
    invalid: str = ""
    """Why the pod's annotations cannot be used; every node fails with this."""
    direct: bool = False
    """The pod asks for a whole exclusive ENI (``tke-direct-eni``) rather than an IP of a shared ENI."""
    kept_eni: str = ""
    """Direct pods in static-IP mode: the ENI kept for the pod since its last incarnation (``subnets`` holds
    its subnet); re-attaching it takes an ENI slot but no new address."""
    holding_nodes: frozenset[str] = frozenset()
    """Static-IP mode: nodes that hold what the pod needs already, an exclusive ENI reserved for this (direct)
    pod, or the (shared-ENI) pod's retained IP on one of their ENIs. They serve the pod whatever their room:
    nothing is attached or assigned there."""

    @property
    def constrained(self) -> bool:
        return self.subnets is not None


ANY_SUBNET = PodNeeds()
