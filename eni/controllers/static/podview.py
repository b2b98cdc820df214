"""What static-IP mode reads from a pod: whether it needs a claimed IP, and what it asks of it.

A pod needs one when it requests ``tke.cloud.tencent.com/eni-ip`` and its network is ``tke-route-eni``
(or unset); ``parse_static_request`` turns its annotations into a ``StaticRequest`` or raises
``AnnotationError`` naming the bad key, so a bad pod is refused before anything is created. Pure
functions over plain objects: nothing here talks to the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eni.api.v1 import DeletePolicy, NetworkName
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_NETWORKS,
    ANNOTATION_NOMINATED_ENI_SUBNETS,
    ANNOTATION_NOMINATED_VPC_IP,
    ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY,
    parse_claim_expired_duration,
    parse_nominated_eni_subnets,
    parse_nominated_vpc_ip,
    parse_vpc_ip_claim_delete_policy,
)
from eni.api.v1.errors import AnnotationError
from eni.controllers.nodepool.pods import requests_eni_ip

STATIC_ANNOTATIONS = (ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY, ANNOTATION_CLAIM_EXPIRED_DURATION,
                      ANNOTATION_NOMINATED_ENI_SUBNETS, ANNOTATION_NOMINATED_VPC_IP, ANNOTATION_NETWORKS)
"""The pod annotations static mode acts on."""

TERMINATED_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class StaticRequest:
    """A pod's static-IP request, parsed from its annotations."""

    delete_policy: DeletePolicy = DeletePolicy.IMMEDIATE
    expired_duration: timedelta | None = None
    nominated_subnet_ids: tuple[str, ...] = ()
    nominated_ip: str = ""


@dataclass(frozen=True, slots=True)
class PodView:
    """The fields of a pod static mode uses."""

    namespace: str
    name: str
    uid: str
    node_name: str
    annotations: Mapping[str, str]

    @classmethod
    def of(cls, pod: Mapping[str, Any]) -> PodView:
        metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        return cls(namespace=str(metadata.get("namespace") or ""), name=str(metadata.get("name") or ""),
                   uid=str(metadata.get("uid") or ""), node_name=str(spec.get("nodeName") or ""),
                   annotations=dict(metadata.get("annotations") or {}))


def wants_static_ip(pod: Mapping[str, Any]) -> bool:
    """True for a pod that requests eni-ip on the shared-ENI network (an unreadable network counts as no)."""
    if (pod.get("spec") or {}).get("hostNetwork") is True or not requests_eni_ip(pod):
        return False
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_NETWORKS)
    return value is None or value.strip() == NetworkName.ROUTE_ENI.value


def is_live(pod: Mapping[str, Any]) -> bool:
    """True until the pod has terminated (Succeeded/Failed); a pod being deleted still holds its IP."""
    return (pod.get("status") or {}).get("phase") not in TERMINATED_PHASES


def parse_static_request(annotations: Mapping[str, str]) -> StaticRequest:
    """The pod's request; ``AnnotationError`` names the first bad annotation.

    >>> parse_static_request({"tke.cloud.tencent.com/vpc-ip-claim-delete-policy": "Never"}).delete_policy
    <DeletePolicy.NEVER: 'Never'>
    """
    return StaticRequest(delete_policy=parse_vpc_ip_claim_delete_policy(annotations),
                         expired_duration=parse_claim_expired_duration(annotations),
                         nominated_subnet_ids=parse_nominated_eni_subnets(annotations),
                         nominated_ip=parse_nominated_vpc_ip(annotations) or "")


__all__ = ["STATIC_ANNOTATIONS", "AnnotationError", "PodView", "StaticRequest", "is_live", "parse_static_request",
           "wants_static_ip"]
