"""Every annotation key, label key, extended resource name and finalizer, and their value parsers.

The keys and values follow TKE's public VPC-CNI documentation (see PRODUCT.md) so that an
operator who knows TKE finds the same names. The parsers are pure functions over an object's
annotations (or labels): a missing key yields the documented default, a bad value raises
``AnnotationError`` naming the key and the problem, and nothing is ever half-parsed.
This module must never import anything outside the standard library.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from .codec import format_duration, parse_duration
from .enums import DeletePolicy, Isp, NetworkName
from .errors import AnnotationError

GROUP = "networking.tke.cloud.tencent.com"
VERSION = "v1"
CATEGORY = "tke-eni"
"""``kubectl get tke-eni`` lists every kind of the group."""

PREFIX = "tke.cloud.tencent.com/"

# Pod annotations.
ANNOTATION_NETWORKS = PREFIX + "networks"
ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY = PREFIX + "vpc-ip-claim-delete-policy"
ANNOTATION_CLAIM_EXPIRED_DURATION = PREFIX + "claim-expired-duration"
ANNOTATION_NOMINATED_ENI_SUBNETS = PREFIX + "nominated-eni-subnets"
ANNOTATION_NOMINATED_VPC_IP = PREFIX + "nominated-vpc-ip"
ANNOTATION_EIP_ATTRIBUTES = PREFIX + "eip-attributes"
ANNOTATION_EIP_CLAIM_DELETE_POLICY = PREFIX + "eip-claim-delete-policy"
ANNOTATION_EIP_ID_LIST = PREFIX + "eip-id-list"
ANNOTATION_EIP_PUBLIC_IP = PREFIX + "eip-public-ip"
"""Published by ipamd on the pod: the public address of its bound EIP."""

# NodeENIConfig annotations (per-node overrides).
ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET = PREFIX + "route-eni-ip-min-warm-target"
ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET = PREFIX + "route-eni-ip-max-warm-target"
ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET = PREFIX + "direct-eni-min-warm-target"
ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET = PREFIX + "direct-eni-max-warm-target"
ANNOTATION_ROUTE_ENI_MAX_ATTACH = PREFIX + "route-eni-max-attach"
ANNOTATION_MAX_IP_PER_ROUTE_ENI = PREFIX + "max-ip-per-route-eni"
ANNOTATION_DIRECT_ENI_MAX_ATTACH = PREFIX + "direct-eni-max-attach"

# Node annotations.
ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS = PREFIX + "disable-node-eni-security-groups"
ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM = PREFIX + "desired-route-eni-pod-num"

# Labels set by the system.
LABEL_ROUTE_ENI_SUBNET_IDS = PREFIX + "route-eni-subnet-ids"
"""On Nodes: the subnets of the node's ENIs (label values cannot hold commas: joined with ``_``)."""
LABEL_NODE_NAME = PREFIX + "node-name"
"""On VpcIPs: the node the IP is assigned to."""

# Extended resources registered by the agent's device plugins.
RESOURCE_ENI_IP = PREFIX + "eni-ip"
RESOURCE_DIRECT_ENI = PREFIX + "direct-eni"
RESOURCE_EIP = PREFIX + "eip"

# Values of the networks annotation.
NETWORK_ROUTE_ENI = NetworkName.ROUTE_ENI.value
NETWORK_DIRECT_ENI = NetworkName.DIRECT_ENI.value

# Finalizers: each one means "ipamd still has cloud resources to give back for this object".
FINALIZER_NODE_ENI_CONFIG = PREFIX + "node-eni-config-protection"
FINALIZER_VPC_ENI = PREFIX + "vpc-eni-protection"
FINALIZER_VPC_IP = PREFIX + "vpc-ip-protection"
FINALIZER_VPC_IP_CLAIM = PREFIX + "vpc-ip-claim-protection"
FINALIZER_EIP_CLAIM = PREFIX + "eip-claim-protection"

MIN_CLAIM_EXPIRED_DURATION = timedelta(minutes=5)
DEFAULT_EIP_BANDWIDTH_MBPS = 100
DEFAULT_EIP_ISP = Isp.BGP

_SUBNET_ID = re.compile(r"^subnet-[0-9a-z]+$")
_EIP_ID = re.compile(r"^eip-[0-9a-z]+$")
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")
_LABEL_VALUE_MAX = 63

_Choice = TypeVar("_Choice", NetworkName, DeletePolicy, Isp)


@dataclass(frozen=True, slots=True)
class WarmTargets:
    """A validated warm-pool window: keep ``min`` to ``max`` spare IPs (or ENIs) beyond what is in use."""

    min: int
    max: int


@dataclass(frozen=True, slots=True)
class EipAttributes:
    """A pod's requested elastic public IP (the eip-attributes annotation)."""

    bandwidth_mbps: int = DEFAULT_EIP_BANDWIDTH_MBPS
    isp: Isp = DEFAULT_EIP_ISP


def parse_pod_network(annotations: Mapping[str, str]) -> NetworkName | None:
    """The pod's requested network, or None when the pod does not ask for an ENI network."""
    value = annotations.get(ANNOTATION_NETWORKS)
    if value is None:
        return None
    return _choice(NetworkName, ANNOTATION_NETWORKS, value.strip())


def parse_vpc_ip_claim_delete_policy(annotations: Mapping[str, str]) -> DeletePolicy:
    """The static IP's delete policy; Immediate when not set."""
    return _delete_policy(annotations, ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY)


def parse_eip_claim_delete_policy(annotations: Mapping[str, str]) -> DeletePolicy:
    """The EIP's delete policy; Immediate when not set."""
    return _delete_policy(annotations, ANNOTATION_EIP_CLAIM_DELETE_POLICY)


def parse_claim_expired_duration(annotations: Mapping[str, str]) -> timedelta | None:
    """How long a retained claim outlives its pod (at least 5m), or None when not set."""
    value = annotations.get(ANNOTATION_CLAIM_EXPIRED_DURATION)
    if value is None:
        return None
    return parse_min_duration(value, key=ANNOTATION_CLAIM_EXPIRED_DURATION, minimum=MIN_CLAIM_EXPIRED_DURATION)


def parse_min_duration(value: str, *, key: str, minimum: timedelta) -> timedelta:
    """A Go-style duration that is at least ``minimum``; ``key`` names the source in errors."""
    try:
        duration = parse_duration(value)
    except ValueError as e:
        raise AnnotationError(key=key, value=value, problem=str(e)) from e
    if duration < minimum:
        raise AnnotationError(key=key, value=value, problem=f"must be at least {format_duration(minimum)}")
    return duration


def parse_nominated_eni_subnets(annotations: Mapping[str, str]) -> tuple[str, ...]:
    """The subnets a static-IP pod may use; empty when any subnet of its node will do."""
    value = annotations.get(ANNOTATION_NOMINATED_ENI_SUBNETS)
    return () if value is None else parse_subnet_list(value, key=ANNOTATION_NOMINATED_ENI_SUBNETS)


def parse_subnet_list(value: str, *, key: str, separator: str = ",") -> tuple[str, ...]:
    """Subnet ids separated by ``separator`` (blanks around items allowed); duplicates are refused."""
    items = tuple(item.strip() for item in value.split(separator))
    if not value.strip() or any(not item for item in items):
        raise AnnotationError(key=key, value=value, problem=f"expected subnet ids separated by {separator!r}")
    for item in items:
        if not _SUBNET_ID.match(item):
            raise AnnotationError(key=key, value=value, problem=f"{item!r} is not a subnet id (subnet-...)")
    if len(set(items)) != len(items):
        raise AnnotationError(key=key, value=value, problem="a subnet is listed twice")
    return items


def parse_nominated_vpc_ip(annotations: Mapping[str, str]) -> str | None:
    """The exact IPv4 address a pod asks for, normalised, or None."""
    value = annotations.get(ANNOTATION_NOMINATED_VPC_IP)
    if value is None:
        return None
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError as e:
        raise AnnotationError(key=ANNOTATION_NOMINATED_VPC_IP, value=value, problem="not an IPv4 address") from e


def parse_eip_attributes(annotations: Mapping[str, str]) -> EipAttributes | None:
    """The pod's EIP request (JSON ``{"Bandwidth": "100", "ISP": "BGP"}``), or None when it wants no EIP."""
    key = ANNOTATION_EIP_ATTRIBUTES
    value = annotations.get(key)
    if value is None:
        return None
    try:
        raw = json.loads(value) if value.strip() else {}
    except ValueError as e:
        raise AnnotationError(key=key, value=value, problem=f"not valid JSON: {e}") from e
    if not isinstance(raw, dict):
        raise AnnotationError(key=key, value=value, problem="expected a JSON object")
    unknown = sorted(set(raw) - {"Bandwidth", "ISP"})
    if unknown:
        raise AnnotationError(key=key, value=value, problem=f"unknown field(s) {', '.join(unknown)}; "
                                                            "allowed: Bandwidth, ISP")
    bandwidth = raw.get("Bandwidth", str(DEFAULT_EIP_BANDWIDTH_MBPS))
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | str) or not _WHOLE_NUMBER.match(str(bandwidth)):
        raise AnnotationError(key=key, value=value, problem="Bandwidth must be a whole number of Mbps")
    if int(bandwidth) < 1:
        raise AnnotationError(key=key, value=value, problem="Bandwidth must be at least 1 Mbps")
    isp = raw.get("ISP", DEFAULT_EIP_ISP.value)
    if not isinstance(isp, str):
        raise AnnotationError(key=key, value=value, problem="ISP must be a string")
    return EipAttributes(bandwidth_mbps=int(bandwidth), isp=_choice(Isp, key, isp, shown=value))


def parse_eip_id_list(annotations: Mapping[str, str]) -> tuple[str, ...]:
    """Existing EIPs to bind instead of allocating; empty when not set."""
    key = ANNOTATION_EIP_ID_LIST
    value = annotations.get(key)
    if value is None:
        return ()
    items = tuple(item.strip() for item in value.split(","))
    bad = [item for item in items if not _EIP_ID.match(item)]
    if bad:
        raise AnnotationError(key=key, value=value, problem=f"{bad[0]!r} is not an EIP id (eip-...)")
    if len(set(items)) != len(items):
        raise AnnotationError(key=key, value=value, problem="an EIP is listed twice")
    return items


def parse_route_eni_ip_warm_targets(annotations: Mapping[str, str]) -> WarmTargets | None:
    """The node's IP warm-pool override, or None to use ipamd's defaults."""
    return parse_warm_targets(annotations, min_key=ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET,
                              max_key=ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET)


def parse_direct_eni_warm_targets(annotations: Mapping[str, str]) -> WarmTargets | None:
    """The node's exclusive-ENI warm-pool override, or None to use ipamd's defaults."""
    return parse_warm_targets(annotations, min_key=ANNOTATION_DIRECT_ENI_MIN_WARM_TARGET,
                              max_key=ANNOTATION_DIRECT_ENI_MAX_WARM_TARGET)


def parse_warm_targets(annotations: Mapping[str, str], *, min_key: str, max_key: str) -> WarmTargets | None:
    """A min/max pair that must be given together, with 0 <= min <= max.

    >>> parse_warm_targets({"lo": "1", "hi": "3"}, min_key="lo", max_key="hi")
    WarmTargets(min=1, max=3)
    >>> parse_warm_targets({"lo": "4", "hi": "3"}, min_key="lo", max_key="hi")
    Traceback (most recent call last):
    eni.api.v1.errors.AnnotationError: lo='4': must not exceed hi (3)
    """
    low, high = annotations.get(min_key), annotations.get(max_key)
    if low is None and high is None:
        return None
    if low is None or high is None:
        given, missing = (max_key, min_key) if low is None else (min_key, max_key)
        raise AnnotationError(key=missing, value="", problem=f"must be set together with {given}")
    targets = WarmTargets(min=_count(min_key, low), max=_count(max_key, high))
    if targets.min > targets.max:
        raise AnnotationError(key=min_key, value=low, problem=f"must not exceed {max_key} ({targets.max})")
    return targets


def parse_node_limit(annotations: Mapping[str, str], key: str) -> int | None:
    """A lowered node limit (route-eni-max-attach, max-ip-per-route-eni, direct-eni-max-attach), or None."""
    value = annotations.get(key)
    return None if value is None else _count(key, value)


def parse_desired_route_eni_pod_num(annotations: Mapping[str, str]) -> int | None:
    """The desired number of route-ENI IPs on a node, or None."""
    value = annotations.get(ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM)
    return None if value is None else _count(ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM, value)


def parse_disable_node_eni_security_groups(annotations: Mapping[str, str]) -> bool | None:
    """True for ``yes`` (unbind the node ENIs' groups), False for ``no`` (re-apply them), None when unset."""
    key = ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS
    value = annotations.get(key)
    if value is None:
        return None
    answers = {"yes": True, "no": False}
    if value.strip().lower() not in answers:
        raise AnnotationError(key=key, value=value, problem="expected yes or no")
    return answers[value.strip().lower()]


def parse_route_eni_subnet_ids(labels: Mapping[str, str]) -> tuple[str, ...]:
    """The subnets named by a Node's route-eni-subnet-ids label; empty when it has none."""
    value = labels.get(LABEL_ROUTE_ENI_SUBNET_IDS)
    return () if not value else parse_subnet_list(value, key=LABEL_ROUTE_ENI_SUBNET_IDS, separator="_")


def format_route_eni_subnet_ids(subnet_ids: Iterable[str]) -> str:
    """The label value for a set of subnets: sorted, joined with ``_``, within 63 characters.

    >>> format_route_eni_subnet_ids(["subnet-b", "subnet-a", "subnet-b"])
    'subnet-a_subnet-b'
    """
    value = "_".join(sorted(set(subnet_ids)))
    if len(value) > _LABEL_VALUE_MAX:
        raise AnnotationError(key=LABEL_ROUTE_ENI_SUBNET_IDS, value=value,
                              problem=f"longer than the {_LABEL_VALUE_MAX} characters a label value may hold")
    if value:
        parse_subnet_list(value, key=LABEL_ROUTE_ENI_SUBNET_IDS, separator="_")
    return value


def _delete_policy(annotations: Mapping[str, str], key: str) -> DeletePolicy:
    value = annotations.get(key)
    return DeletePolicy.IMMEDIATE if value is None else _choice(DeletePolicy, key, value.strip())


def _count(key: str, value: str) -> int:
    text = value.strip()
    if not _WHOLE_NUMBER.match(text):
        raise AnnotationError(key=key, value=value, problem="expected a whole number >= 0")
    return int(text)


def _choice(enum_type: type[_Choice], key: str, value: str, *, shown: str = "") -> _Choice:
    allowed = [member.value for member in enum_type]
    if value not in allowed:
        raise AnnotationError(key=key, value=shown or value,
                              problem=f"{value!r} is not one of {', '.join(allowed)}")
    return enum_type(value)
