"""Group networking.tke.cloud.tencent.com, version v1: the typed kinds and their shared values.

Import kinds from here (``from eni.api.v1 import VpcIP, VPC_IP``); annotation and label keys and
their parsers live in ``eni.api.v1.constants``. Nothing here imports yaml or touches the network.
"""

from __future__ import annotations

from .eipclaim import EIP_CLAIM, EIPClaim, EIPClaimSpec, EIPClaimStatus
from .enums import ConditionStatus, DeletePolicy, EniType, Isp, NetworkName
from .errors import AnnotationError, ApiValueError, DecodeError
from .nodeeniconfig import (
    NODE_ENI_CONFIG,
    AgentStatus,
    EniIP,
    IPState,
    NodeENI,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    PodRef,
    agent_status_patch,
    ipamd_status_patch,
)
from .objectmeta import Condition, ObjectMeta, ObjectReference, OwnerReference
from .resource import CustomObject, PrinterColumn
from .vpceni import VPC_ENI, VpcENI, VpcENIPhase, VpcENISpec, VpcENIStatus
from .vpcip import VPC_IP, VpcIP, VpcIPPhase, VpcIPSpec, VpcIPStatus, VpcIPType
from .vpcipclaim import VPC_IP_CLAIM, ClaimPhase, VpcIPClaim, VpcIPClaimSpec, VpcIPClaimStatus

ALL_KINDS: tuple[type[CustomObject], ...] = (NodeENIConfig, VpcENI, VpcIP, VpcIPClaim, EIPClaim)
"""Every kind of the group, in the order the manifests list them."""

__all__ = [
    "ALL_KINDS",
    "EIP_CLAIM",
    "NODE_ENI_CONFIG",
    "VPC_ENI",
    "VPC_IP",
    "VPC_IP_CLAIM",
    "AgentStatus",
    "AnnotationError",
    "ApiValueError",
    "ClaimPhase",
    "Condition",
    "ConditionStatus",
    "CustomObject",
    "DecodeError",
    "DeletePolicy",
    "EIPClaim",
    "EIPClaimSpec",
    "EIPClaimStatus",
    "EniIP",
    "EniType",
    "IPState",
    "Isp",
    "NetworkName",
    "NodeENI",
    "NodeENIConfig",
    "NodeENIConfigSpec",
    "NodeENIConfigStatus",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
    "PodRef",
    "PrinterColumn",
    "VpcENI",
    "VpcENIPhase",
    "VpcENISpec",
    "VpcENIStatus",
    "VpcIP",
    "VpcIPClaim",
    "VpcIPClaimSpec",
    "VpcIPClaimStatus",
    "VpcIPPhase",
    "VpcIPSpec",
    "VpcIPStatus",
    "VpcIPType",
    "agent_status_patch",
    "ipamd_status_patch",
]
