"""VpcIPClaim (``vipc``): a pod's claim on a VPC IP in static-IP mode, named after the pod.

The claim outlives the pod when its delete policy is Never: the next pod with the same namespace
and name gets the same IP. It is reclaimed by expiry, by ``kubectl delete vipc`` once the pod is
gone, or with its owner workload (``--enable-ownerref``). Values only: this module must never talk to
the API or the cloud, nor import beyond the standard library and eni.runtime.meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from eni.runtime.meta import ResourceKind

from .codec import hints
from .constants import GROUP, VERSION
from .enums import DeletePolicy
from .objectmeta import ObjectMeta
from .resource import AGE_COLUMN, CustomObject, PrinterColumn

VPC_IP_CLAIM = ResourceKind(
    group=GROUP, version=VERSION, kind="VpcIPClaim", plural="vpcipclaims", namespaced=True,
    short_names=("vipc",),
)


class ClaimPhase(StrEnum):
    """Where a claim (on an IP or an EIP) is in its life."""

    PENDING = "Pending"
    """Waiting for an address."""
    BOUND = "Bound"
    """The address is held for a live pod."""
    RETAINED = "Retained"
    """The pod is gone and the address is kept for the next pod with the same name."""
    EXPIRED = "Expired"
    """Retained for longer than its expiry: the address is being given back."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIPClaimSpec:
    """What the pod asked for (from its annotations when the claim was made)."""

    delete_policy: DeletePolicy = DeletePolicy.IMMEDIATE
    """Immediate: the IP goes back to the VPC with the pod. Never: it is kept for the next pod."""
    expired_duration: timedelta | None = field(default=None, metadata=hints(fmt="duration"))
    """How long a retained IP outlives its pod (Go duration, at least 5m); unset: forever."""
    nominated_subnet_ids: tuple[str, ...] = ()
    """Only these subnets may serve the claim; empty: any subnet of the node."""
    nominated_ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """This exact IP, when the pod asked for one."""
    pod_uid: str = ""
    """UID of the pod currently using the claim; empty while retained."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIPClaimStatus:
    """The address that serves the claim."""

    phase: ClaimPhase | None = None
    """Pending, Bound, Retained or Expired."""
    ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """The claimed IP."""
    subnet_id: str = ""
    """Subnet of the IP (a retained IP binds its next pod to this subnet's zone)."""
    eni_id: str = ""
    """ENI the IP is assigned to now."""
    node_name: str = ""
    """Node of that ENI."""
    released_time: datetime | None = None
    """When the pod went away (the start of the expiry clock)."""
    message: str = ""
    """Why the claim cannot be served, when it cannot."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIPClaim(CustomObject):
    """A pod's claim on a VPC IP (static-IP mode), named after the pod, in the pod's namespace."""

    RESOURCE: ClassVar[ResourceKind] = VPC_IP_CLAIM
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="IP", type="string", json_path=".status.ip"),
        PrinterColumn(name="Node", type="string", json_path=".status.nodeName"),
        PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
        PrinterColumn(name="Policy", type="string", json_path=".spec.deletePolicy"),
        PrinterColumn(name="Subnet", type="string", json_path=".status.subnetId", priority=1),
        AGE_COLUMN,
    )

    metadata: ObjectMeta
    spec: VpcIPClaimSpec = field(default_factory=VpcIPClaimSpec)
    status: VpcIPClaimStatus = field(default_factory=VpcIPClaimStatus)
