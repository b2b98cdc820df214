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

from eni.api.v1 import ClaimPhase, EniType, VpcIPPhase

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


def nec_facts(nec: Mapping[str, Any]) -> NecFacts:
    """The facts of a NodeENIConfig object (named after its node)."""
    spec, status = _map(nec.get("spec")), _map(nec.get("status"))
    route: list[EniFacts] = []
    other: list[str] = []
    for raw in status.get("enis") or ():
        eni = _map(raw)
        subnet = _text(eni.get("subnetId"))
        if _text(eni.get("type")) not in ("", EniType.ROUTE.value):
            if subnet:
                other.append(subnet)
            continue
        ips = eni.get("ips")
        route.append(EniFacts(eni_id=_text(eni.get("eniId")), subnet_id=subnet, cidr=_text(eni.get("subnetCIDR")),
                              ip_count=len(ips) if isinstance(ips, list) else 0))
    return NecFacts(node=name_of(nec), zone=_text(spec.get("zone")), subnets=_texts(spec.get("subnetIds")),
                    max_eni=_count(spec.get("maxENI")), max_ip_per_eni=_count(spec.get("maxIPPerENI")),
                    enis=tuple(route), other_eni_subnets=tuple(other))


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
