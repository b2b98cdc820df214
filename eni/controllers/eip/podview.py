"""What the EIP controller reads from a pod: whether it wants an EIP, what kind, and where its IP is.

``PodView`` is a frozen snapshot of the fields that matter; ``parse_request`` turns the pod's eip-*
annotations into an ``EipRequest`` or raises ``AnnotationError`` naming the bad key, so a bad pod
is refused before anything is created. ``eni_holding`` finds the ENI of a pod IP in its node's
NodeENIConfig status. Pure functions over decoded objects: nothing here talks to the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eni.api.v1 import EniType, NodeENIConfig
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_EIP_ATTRIBUTES,
    ANNOTATION_EIP_CLAIM_DELETE_POLICY,
    ANNOTATION_EIP_ID_LIST,
    EipAttributes,
    parse_claim_expired_duration,
    parse_eip_attributes,
    parse_eip_claim_delete_policy,
    parse_eip_id_list,
)
from eni.api.v1.enums import DeletePolicy

EIP_ANNOTATIONS = (ANNOTATION_EIP_ATTRIBUTES, ANNOTATION_EIP_ID_LIST, ANNOTATION_EIP_CLAIM_DELETE_POLICY,
                   ANNOTATION_CLAIM_EXPIRED_DURATION)
"""The pod annotations the controller acts on (a change to any of them is worth a reconcile)."""

TERMINATED_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class EipRequest:
    """A pod's EIP request, parsed from its annotations."""

    attributes: EipAttributes
    delete_policy: DeletePolicy
    eip_ids: tuple[str, ...]
    """Existing EIPs to bind instead of allocating; empty: allocate one."""
    expired_duration: timedelta | None


@dataclass(frozen=True, slots=True)
class PodView:
    """The fields of a pod the EIP controller uses."""

    namespace: str
    name: str
    uid: str
    node_name: str
    pod_ip: str
    host_network: bool
    annotations: Mapping[str, str]

    @classmethod
    def of(cls, pod: Mapping[str, Any]) -> PodView:
        metadata, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        return cls(namespace=str(metadata.get("namespace") or ""), name=str(metadata.get("name") or ""),
                   uid=str(metadata.get("uid") or ""), node_name=str(spec.get("nodeName") or ""),
                   pod_ip=str(status.get("podIP") or ""), host_network=spec.get("hostNetwork") is True,
                   annotations=dict(metadata.get("annotations") or {}))


def wants_eip(pod: Mapping[str, Any]) -> bool:
    """True when the pod carries eip-attributes or eip-id-list (valid or not)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return ANNOTATION_EIP_ATTRIBUTES in annotations or ANNOTATION_EIP_ID_LIST in annotations


def is_running(pod: Mapping[str, Any]) -> bool:
    """True until the pod has terminated (Succeeded/Failed); a pod being deleted still runs."""
    return (pod.get("status") or {}).get("phase") not in TERMINATED_PHASES


def parse_request(annotations: Mapping[str, str]) -> EipRequest:
    """The pod's EIP request; ``AnnotationError`` names the first bad annotation.

    >>> parse_request({"tke.cloud.tencent.com/eip-attributes": '{"Bandwidth": "5"}'}).attributes.bandwidth_mbps
    5
    """
    attributes = parse_eip_attributes(annotations) or EipAttributes()
    return EipRequest(attributes=attributes, delete_policy=parse_eip_claim_delete_policy(annotations),
                      eip_ids=parse_eip_id_list(annotations),
                      expired_duration=parse_claim_expired_duration(annotations))


def eni_holding(nec: NodeENIConfig, ip: str) -> str | None:
    """The ENI of the node that holds ``ip`` as a pod IP (a secondary IP, or a direct ENI's primary IP)."""
    for eni in nec.status.enis:
        if any(entry.ip == ip for entry in eni.ips):
            return eni.eni_id
        if eni.type is EniType.DIRECT and eni.primary_ip == ip:
            return eni.eni_id
    return None
