"""What a pod asks of a node: whether it asks at all, an IP of a shared ENI or a whole exclusive ENI, and
which subnets may serve it.

A pod is the extender's business only when a container (or init container) requests or limits
``tke.cloud.tencent.com/eni-ip`` or ``tke.cloud.tencent.com/direct-eni`` (like kube-scheduler's
managedResources check), or when its ``networks`` annotation is ``tke-direct-eni``; every other pod passes
through untouched. A pod that asks for ``direct-eni`` (by resource or annotation) is a direct-ENI pod.

For a route-ENI pod, in order of precedence:
1. its VpcIPClaim holds an IP (Bound or Retained, not being deleted): only that IP's subnet, and the node
   whose ENI has that IP now serves it as it is;
2. ``nominated-vpc-ip``: the subnet containing that address, when a known subnet does (an address another
   claim or a node already holds serves no node);
3. ``nominated-eni-subnets`` (or the claim's nominated subnets): only those subnets;
4. otherwise any subnet the node can use.
For a direct-ENI pod: the subnet of the ENI kept for it (static mode), else ``nominated-eni-subnets``, else
any subnet of the node; nodes that hold an ENI reserved for it are named in the needs.
Bad annotations (any that make ipamd's static mode refuse the pod) yield needs that no node meets, with the
annotation's own error; the same for both kinds.
``own_nominations`` reads, for the index, the subnets a live pod of either kind nominates itself: with
``--only-nominated-eni-subnets`` they are kept for it (claims carry the same for shared-ENI pods, but a
direct-ENI pod has none). Pure; never raises.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from eni.api.v1 import AnnotationError
from eni.api.v1.constants import (
    ANNOTATION_NETWORKS,
    ANNOTATION_NOMINATED_ENI_SUBNETS,
    NETWORK_DIRECT_ENI,
    RESOURCE_DIRECT_ENI,
    RESOURCE_ENI_IP,
    parse_claim_expired_duration,
    parse_nominated_eni_subnets,
    parse_nominated_vpc_ip,
    parse_vpc_ip_claim_delete_policy,
)
from eni.scheduler.facts import ClaimFacts, KeptEniFacts
from eni.scheduler.model import ANY_SUBNET, PodNeeds, SubnetInfo


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


ROUTE = "route"
DIRECT = "direct"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
"""A pod in one of these phases holds no IP or ENI any more, and reserves nothing."""


def _requested(pod: Mapping[str, Any]) -> set[str]:
    """The extended resources of this project that a container or init container requests or limits."""
    found: set[str] = set()
    spec = _map(pod.get("spec"))
    for group in ("containers", "initContainers"):
        containers = spec.get(group)
        for container in containers if isinstance(containers, list) else ():
            resources = _map(_map(container).get("resources"))
            for amounts in (_map(resources.get("requests")), _map(resources.get("limits"))):
                found.update(name for name in (RESOURCE_ENI_IP, RESOURCE_DIRECT_ENI) if name in amounts)
    return found


def pod_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of a pod, the namespace ``default`` when it is not set."""
    metadata = _map(pod.get("metadata"))
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or "")


def requests_eni_ip(pod: Mapping[str, Any]) -> bool:
    """True when a container or init container requests or limits the eni-ip extended resource."""
    return RESOURCE_ENI_IP in _requested(pod)


def managed_network(pod: Mapping[str, Any]) -> str | None:
    """``DIRECT`` for a pod that wants a whole exclusive ENI, ``ROUTE`` for one that wants an ENI IP, None for
    a pod the extender leaves alone."""
    requested = _requested(pod)
    note = _map(_map(pod.get("metadata")).get("annotations")).get(ANNOTATION_NETWORKS)
    if RESOURCE_DIRECT_ENI in requested or (isinstance(note, str) and note.strip() == NETWORK_DIRECT_ENI):
        return DIRECT
    return ROUTE if requested else None


def own_nominations(pod: Mapping[str, Any]) -> tuple[str, ...]:
    """The subnets ``pod``'s ``nominated-eni-subnets`` names while it may still get or hold an IP or ENI: a
    pod the extender manages (either network), not on the host network, not finished. None for a bad
    annotation (such a pod fits no node anyway) or any other pod."""
    metadata = _map(pod.get("metadata"))
    value = _map(metadata.get("annotations")).get(ANNOTATION_NOMINATED_ENI_SUBNETS)
    if not isinstance(value, str):  # the common case, decided without looking further
        return ()
    spec = _map(pod.get("spec"))
    if spec.get("hostNetwork") is True or _map(pod.get("status")).get("phase") in FINISHED_PHASES:
        return ()
    if managed_network(pod) is None:
        return ()
    try:
        return parse_nominated_eni_subnets({ANNOTATION_NOMINATED_ENI_SUBNETS: value})
    except AnnotationError:
        return ()


def direct_pod_needs(pod: Mapping[str, Any], *, kept: KeptEniFacts | None,
                     holding_nodes: frozenset[str]) -> PodNeeds:
    """The needs of a direct-ENI pod: ``kept`` is the ENI kept for it (static mode), ``holding_nodes`` the nodes
    that have an ENI reserved for it attached now."""
    try:
        nominated, _ = _static_request(pod)  # ipamd gives an exclusive ENI no chosen address
    except AnnotationError as e:
        return PodNeeds(direct=True, invalid=str(e))
    if kept is not None:
        return PodNeeds(direct=True, subnets=frozenset({kept.subnet_id}), kept_eni=kept.eni_id,
                        holding_nodes=holding_nodes)
    return PodNeeds(direct=True, subnets=frozenset(nominated) if nominated else None, holding_nodes=holding_nodes)


def pod_needs(
    pod: Mapping[str, Any],
    *,
    claim: ClaimFacts | None,
    subnet_of_ip: Callable[[str], str],
    subnets: Mapping[str, SubnetInfo],
    holder_of_ip: Callable[[str], str | None] = lambda ip: None,
    nodes_holding_ip: Callable[[str], frozenset[str]] = lambda ip: frozenset(),
) -> PodNeeds:
    """The needs of a pod that requests an ENI IP.

    ``subnet_of_ip`` names the subnet of a VpcIP the cluster holds; ``holder_of_ip`` says who holds one
    (``namespace/name`` of its claim, "" for an IP of no claim, None when the cluster does not hold it);
    ``nodes_holding_ip`` names the node whose ENI has an IP for this pod's claim now.
    """
    try:
        nominated, nominated_ip = _static_request(pod)
    except AnnotationError as e:
        return PodNeeds(invalid=str(e))
    if claim is not None and not claim.deleting:
        if claim.ip:
            subnet = claim.subnet_id or subnet_of_ip(claim.ip)
            if subnet:
                return PodNeeds(subnets=frozenset({subnet}), retained_ip=claim.ip,
                                holding_nodes=nodes_holding_ip(claim.ip))
        nominated = nominated or claim.nominated_subnets
    if nominated_ip is not None:
        holder = holder_of_ip(nominated_ip)
        own = "/".join(pod_key(pod))
        if holder is not None and holder != own:
            return PodNeeds(invalid=f"nominated-vpc-ip {nominated_ip} is already held by "
                                    f"{holder or 'a node (not by a claim)'}")
        subnet = subnet_of_ip(nominated_ip) or _containing(nominated_ip, subnets)
        if subnet and nominated and subnet not in nominated:
            return PodNeeds(invalid=f"nominated-vpc-ip {nominated_ip} is in {subnet}, "
                                    f"which nominated-eni-subnets does not list")
        if subnet:
            return PodNeeds(subnets=frozenset({subnet}))
    if nominated:
        return PodNeeds(subnets=frozenset(nominated))
    return ANY_SUBNET


def _static_request(pod: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The pod's nominated subnets and address; ``AnnotationError`` for any annotation that makes ipamd's static
    mode refuse the pod (the delete policy and expiry place nothing, but a pod with a bad one gets no IP or ENI,
    so it must not be scheduled either)."""
    annotations = _map(_map(pod.get("metadata")).get("annotations"))
    text = {key: value for key, value in annotations.items() if isinstance(value, str)}
    parse_vpc_ip_claim_delete_policy(text)
    parse_claim_expired_duration(text)
    return parse_nominated_eni_subnets(text), parse_nominated_vpc_ip(text)


def _containing(ip: str, subnets: Mapping[str, SubnetInfo]) -> str:
    address = ipaddress.IPv4Address(ip)
    for info in subnets.values():
        if info.cidr:
            try:
                if address in ipaddress.IPv4Network(info.cidr, strict=False):
                    return info.id
            except ValueError:
                continue
    return ""
