"""The few facts the extender keeps from each cached object, read defensively from the plain dicts.

Informer caches hold objects as decoded JSON; fully decoding 100,000 VpcIPs into the typed API classes on
every event would cost more than the whole filter request, so these readers pick the fields they need with
the wire names of ``eni.api.v1`` and ignore the rest. A field of the wrong type reads as absent: garbage in
one object must never break the cache handlers. Nothing here mutates what it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eni.api.v1 import ClaimPhase, EniType, IPState, VpcENIPhase, VpcIPPhase

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
"""Node labels that carry the availability zone, the stable one first."""


@dataclass(frozen=True, slots=True)
class EniFacts:
    """One route ENI of a node, as its NodeENIConfig status lists it."""

    eni_id: str
    subnet_id: str
    cidr: str
    ip_count: int


@dataclass(frozen=True, slots=True)
class DirectEniFacts:
    """One exclusive (direct) ENI attached to a node, as its NodeENIConfig status lists it."""

    eni_id: str
    subnet_id: str
    bound: bool
    """State Bound (usable); False while Releasing (ipamd wants it back)."""
    pod: str = ""
    """``namespace/name`` of the only pod that may get it (static-IP mode); empty for a warm-pool ENI."""
    in_use: bool = False
    """Listed in the agent's ``inUseENIs``: a pod holds it now."""

    @property
    def free(self) -> bool:
        """A warm-pool ENI any direct-ENI pod of the node may get now."""
        return self.bound and not self.in_use and not self.pod


@dataclass(frozen=True, slots=True)
class NecFacts:
    """A NodeENIConfig's zone, subnets, limits and ENIs."""

    node: str
    zone: str
    subnets: tuple[str, ...]
    max_eni: int
    max_ip_per_eni: int
    enis: tuple[EniFacts, ...]
    """Route (shared) ENIs only: exclusive ENIs hold no pod IPs of this kind."""
    other_eni_subnets: tuple[str, ...]
    """Subnets of the node's exclusive ENIs (their primary IPs still use addresses)."""
    max_direct_eni: int = 0
    """Exclusive ENIs the node may attach (spec.maxDirectENI)."""
    direct_enis: tuple[DirectEniFacts, ...] = ()
    """The node's exclusive ENIs in any state."""


@dataclass(frozen=True, slots=True)
class VipFacts:
    """Where a VpcIP lives."""

    ip: str
    subnet_id: str
    eni_id: str
    node: str
    claim: str = ""
    """``namespace/name`` of the VpcIPClaim holding the IP (static mode); empty for pool IPs."""


@dataclass(frozen=True, slots=True)
class KeptEniFacts:
    """A VpcENI of an exclusive ENI kept for a static pod (``spec.ownerPod``) across the pod's re-creation."""

    eni_id: str
    subnet_id: str
    owner: tuple[str, str]
    """(namespace, name) of the pod it is kept for."""
    node: str
    """Node it is attached (or being attached) to; empty while it is detached and kept."""


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What a VpcIPClaim says about its pod's IP and subnets."""

    namespace: str
    name: str
    ip: str
    """The claimed IP while it is held (Bound or Retained); empty otherwise."""
    subnet_id: str
    nominated_subnets: tuple[str, ...]
    deleting: bool


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def name_of(obj: Mapping[str, Any]) -> str:
    return _text(_map(obj.get("metadata")).get("name"))


def node_zone(node: Mapping[str, Any]) -> str:
    """The zone label of a Node; empty when it has none."""
    labels = _map(_map(node.get("metadata")).get("labels"))
    for label in ZONE_LABELS:
        zone = _text(labels.get(label))
        if zone:
            return zone
    return ""


def _pod_key(value: Any) -> str:
    ref = _map(value)
    name = _text(ref.get("name"))
    return f"{_text(ref.get('namespace')) or 'default'}/{name}" if name else ""


def nec_facts(nec: Mapping[str, Any]) -> NecFacts:
    """The facts of a NodeENIConfig object (named after its node)."""
    spec, status = _map(nec.get("spec")), _map(nec.get("status"))
    in_use = frozenset(_texts(_map(status.get("agent")).get("inUseENIs")))
    route: list[EniFacts] = []
    direct: list[DirectEniFacts] = []
    other: list[str] = []
    for raw in status.get("enis") or ():
        eni = _map(raw)
        subnet = _text(eni.get("subnetId"))
        kind = _text(eni.get("type"))
        if kind not in ("", EniType.ROUTE.value):
            if subnet:
                other.append(subnet)
            eni_id = _text(eni.get("eniId"))
            if kind == EniType.DIRECT.value and eni_id:
                direct.append(DirectEniFacts(
                    eni_id=eni_id, subnet_id=subnet, pod=_pod_key(eni.get("pod")), in_use=eni_id in in_use,
                    bound=_text(eni.get("state")) in ("", IPState.BOUND.value)))
            continue
        ips = eni.get("ips")
        route.append(EniFacts(eni_id=_text(eni.get("eniId")), subnet_id=subnet, cidr=_text(eni.get("subnetCIDR")),
                              ip_count=len(ips) if isinstance(ips, list) else 0))
    return NecFacts(node=name_of(nec), zone=_text(spec.get("zone")), subnets=_texts(spec.get("subnetIds")),
                    max_eni=_count(spec.get("maxENI")), max_ip_per_eni=_count(spec.get("maxIPPerENI")),
                    enis=tuple(route), other_eni_subnets=tuple(other), max_direct_eni=_count(spec.get("maxDirectENI")),
                    direct_enis=tuple(direct))


def kept_eni_facts(veni: Mapping[str, Any]) -> KeptEniFacts | None:
    """The facts of a VpcENI kept for a static direct-ENI pod; None for any other ENI or one on its way out."""
    metadata, spec = _map(veni.get("metadata")), _map(veni.get("spec"))
    owner = _map(spec.get("ownerPod"))
    name, subnet = _text(owner.get("name")), _text(spec.get("subnetId"))
    if (not name or not subnet or _text(spec.get("type")) != EniType.DIRECT.value or metadata.get("deletionTimestamp")
            or _text(_map(veni.get("status")).get("phase")) == VpcENIPhase.DELETING.value):
        return None
    return KeptEniFacts(eni_id=name_of(veni), subnet_id=subnet, node=_text(spec.get("nodeName")),
                        owner=(_text(owner.get("namespace")) or "default", name))


def vip_facts(vip: Mapping[str, Any]) -> VipFacts | None:
    """The facts of a VpcIP that holds an address now; None once it is Released or when it has no subnet."""
    spec = _map(vip.get("spec"))
    subnet = _text(spec.get("subnetId"))
    if not subnet or _text(_map(vip.get("status")).get("phase")) == VpcIPPhase.RELEASED.value:
        return None
    ref = _map(spec.get("claimRef"))
    holder = f"{_text(ref.get('namespace'))}/{_text(ref.get('name'))}" if _text(ref.get("name")) else ""
    return VipFacts(ip=name_of(vip), subnet_id=subnet, eni_id=_text(spec.get("eniId")),
                    node=_text(spec.get("nodeName")), claim=holder)


def claim_facts(claim: Mapping[str, Any]) -> ClaimFacts:
    """The facts of a VpcIPClaim (named after its pod, in the pod's namespace)."""
    metadata, spec, status = _map(claim.get("metadata")), _map(claim.get("spec")), _map(claim.get("status"))
    held = _text(status.get("phase")) in (ClaimPhase.BOUND.value, ClaimPhase.RETAINED.value)
    return ClaimFacts(namespace=_text(metadata.get("namespace")), name=_text(metadata.get("name")),
                      ip=_text(status.get("ip")) if held else "", subnet_id=_text(status.get("subnetId")),
                      nominated_subnets=_texts(spec.get("nominatedSubnetIds")),
                      deleting=bool(metadata.get("deletionTimestamp")))
