"""Closed sets of values shared by several kinds and by the annotation parsers.

The enum values are the exact strings on the wire (and in the CRD schemas' ``enum`` lists); a
value outside the set is refused when decoding. Phases that belong to one kind live with it.
This module must never import anything outside the standard library.
"""

from __future__ import annotations

import enum


class EniType(enum.StrEnum):
    """How an ENI serves pods."""

    ROUTE = "route"
    """Shared ENI (``tke-route-eni``): its secondary IPs go to pods, traffic is policy-routed."""
    DIRECT = "direct"
    """Exclusive ENI (``tke-direct-eni``): the whole interface is moved into one pod."""


class NetworkName(enum.StrEnum):
    """Values of the pod annotation ``tke.cloud.tencent.com/networks``."""

    ROUTE_ENI = "tke-route-eni"
    DIRECT_ENI = "tke-direct-eni"


class DeletePolicy(enum.StrEnum):
    """What happens to a pod's claimed IP or EIP when the pod is deleted."""

    IMMEDIATE = "Immediate"
    """The claim goes with the pod and the address is given back to the VPC."""
    NEVER = "Never"
    """The claim and address are retained for the next pod with the same namespace and name."""


class Isp(enum.StrEnum):
    """Internet service provider line of an elastic public IP."""

    BGP = "BGP"
    CMCC = "CMCC"
    CTCC = "CTCC"
    CUCC = "CUCC"


class ConditionStatus(enum.StrEnum):
    """The status of a condition, as in metav1.Condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"
