"""What a pod asks of a node's ENI IPs: whether it asks at all, and which subnets may serve it.

A pod is the extender's business only when a container (or init container) requests or limits
``tke.cloud.tencent.com/eni-ip``, like kube-scheduler's managedResources check; every other pod passes
through untouched. For a managed pod, in order of precedence:
1. its VpcIPClaim holds an IP (Bound or Retained, not being deleted): only that IP's subnet;
2. ``nominated-vpc-ip``: the subnet containing that address, when a known subnet does (an address another
   claim or a node already holds serves no node);
3. ``nominated-eni-subnets`` (or the claim's nominated subnets): only those subnets;
4. otherwise any subnet the node can use.
Bad annotations yield needs that no node meets, with the annotation's own error. Pure; never raises.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from eni.api.v1 import AnnotationError
from eni.api.v1.constants import RESOURCE_ENI_IP, parse_nominated_eni_subnets, parse_nominated_vpc_ip
from eni.scheduler.facts import ClaimFacts
from eni.scheduler.model import ANY_SUBNET, PodNeeds, SubnetInfo


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def requests_eni_ip(pod: Mapping[str, Any]) -> bool:
    """True when a container or init container requests or limits the eni-ip extended resource."""
    spec = _map(pod.get("spec"))
    for group in ("containers", "initContainers"):
        containers = spec.get(group)
        for container in containers if isinstance(containers, list) else ():
            resources = _map(_map(container).get("resources"))
            if RESOURCE_ENI_IP in _map(resources.get("requests")) or RESOURCE_ENI_IP in _map(resources.get("limits")):
                return True
    return False


def pod_needs(
    pod: Mapping[str, Any],
    *,
    claim: ClaimFacts | None,
    subnet_of_ip: Callable[[str], str],
    subnets: Mapping[str, SubnetInfo],
    holder_of_ip: Callable[[str], str | None] = lambda ip: None,
) -> PodNeeds:
    """The needs of a pod that requests an ENI IP.

    ``subnet_of_ip`` names the subnet of a VpcIP the cluster holds; ``holder_of_ip`` says who holds one
    (``namespace/name`` of its claim, "" for an IP of no claim, None when the cluster does not hold it).
    """
    annotations = _map(_map(pod.get("metadata")).get("annotations"))
    text = {key: value for key, value in annotations.items() if isinstance(value, str)}
    try:
        nominated = parse_nominated_eni_subnets(text)
        nominated_ip = parse_nominated_vpc_ip(text)
    except AnnotationError as e:
        return PodNeeds(invalid=str(e))
    if claim is not None and not claim.deleting:
        if claim.ip:
            subnet = claim.subnet_id or subnet_of_ip(claim.ip)
            if subnet:
                return PodNeeds(subnets=frozenset({subnet}), retained_ip=claim.ip)
        nominated = nominated or claim.nominated_subnets
    if nominated_ip is not None:
        holder = holder_of_ip(nominated_ip)
        metadata = _map(pod.get("metadata"))
        own = f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or ''}"
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
