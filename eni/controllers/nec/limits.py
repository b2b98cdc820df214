"""A node's effective limits and warm targets: the cloud quota lowered by validated NEC annotations.

Validation (PRODUCT.md "Pod-facing API"): warm targets come both or neither with 0 <= min <= max;
limit annotations may only lower the cloud quota and never below what is in use. An invalid value
leaves the previous one in force and is reported as a problem (the caller turns it into a Warning
Event). Pure: must never read the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eni.api.v1.constants import (
    ANNOTATION_DIRECT_ENI_MAX_ATTACH,
    ANNOTATION_MAX_IP_PER_ROUTE_ENI,
    ANNOTATION_ROUTE_ENI_MAX_ATTACH,
    WarmTargets,
    parse_node_limit,
    parse_route_eni_ip_warm_targets,
)
from eni.api.v1.errors import AnnotationError
from eni.cloud.types import EniLimits


@dataclass(frozen=True, slots=True)
class NodeLimits:
    """Secondary ENIs, secondary IPs per ENI and exclusive ENIs the node may use, and its pods' EIPs."""

    max_eni: int
    max_ip_per_eni: int
    max_direct_eni: int = 0
    eip_quota: int = 0
    """EIPs the node's pods may hold: one per private IP the instance can have, minus the node's own primary IP
    (the cloud has no per-instance EIP quota call; an EIP binds to one private IP)."""

    @property
    def ip_cap(self) -> int:
        """maxENI x IPsPerENI: the most IPs the node's pool may hold."""
        return self.max_eni * self.max_ip_per_eni


@dataclass(frozen=True, slots=True)
class InUse:
    """What pods use now, which no lowered limit may go below."""

    enis: int = 0
    """Attached ENIs holding an IP a pod uses (or whose primary IP a pod uses)."""
    ips_on_one_eni: int = 0
    """The most in-use IPs on any single ENI."""
    direct_enis: int = 0
    """Exclusive ENIs held by pods."""


def cloud_limits(quota: EniLimits) -> NodeLimits:
    """The cloud quota minus the primary ENI and the primary IP."""
    private_ips = (quota.eni_quantity * quota.eni_private_ip_quantity
                   + quota.extend_eni_quantity * quota.extend_eni_private_ip_quantity)
    return NodeLimits(max_eni=quota.max_secondary_enis, max_ip_per_eni=quota.max_secondary_ips_per_eni,
                      max_direct_eni=max(0, quota.extend_eni_quantity), eip_quota=max(0, private_ips - 1))


def effective_limits(
    quota: NodeLimits, annotations: Mapping[str, str], *, in_use: InUse, previous: NodeLimits | None
) -> tuple[NodeLimits, list[str]]:
    """``quota`` lowered by the limit annotations; returns (limits, problems).

    An invalid annotation keeps the previous value of that limit (the quota when there is none).
    """
    problems: list[str] = []
    values: dict[str, int] = {}
    for key, field_name, floor in (
        (ANNOTATION_ROUTE_ENI_MAX_ATTACH, "max_eni", in_use.enis),
        (ANNOTATION_MAX_IP_PER_ROUTE_ENI, "max_ip_per_eni", in_use.ips_on_one_eni),
        (ANNOTATION_DIRECT_ENI_MAX_ATTACH, "max_direct_eni", in_use.direct_enis),
    ):
        ceiling = getattr(quota, field_name)
        fallback = min(getattr(previous, field_name), ceiling) if previous is not None else ceiling
        try:
            value = parse_node_limit(annotations, key)
        except AnnotationError as e:
            problems.append(str(e))
            values[field_name] = fallback
            continue
        if value is None:
            values[field_name] = ceiling
        elif value < floor:
            problems.append(f"{key}={value}: below what is in use ({floor})")
            values[field_name] = fallback
        else:
            values[field_name] = min(value, ceiling)
    return NodeLimits(**values, eip_quota=quota.eip_quota), problems


def effective_warm_targets(
    defaults: WarmTargets, annotations: Mapping[str, str], *, previous: WarmTargets | None
) -> tuple[WarmTargets, str | None]:
    """The node's IP warm targets: the annotations when valid, else the previous value; (targets, problem)."""
    try:
        override = parse_route_eni_ip_warm_targets(annotations)
    except AnnotationError as e:
        return (previous or defaults), str(e)
    return (override or defaults), None
