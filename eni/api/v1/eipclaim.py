"""EIPClaim (``eipc``): a pod's elastic public IP, named after the pod, in the pod's namespace.

Made from the pod's eip-* annotations. With delete policy Never the EIP is kept for the next pod
with the same name; otherwise it is disassociated and released when the pod goes. Values only: this
module must never talk to the API or the cloud, nor import beyond the standard library and
eni.runtime.meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from eni.runtime.meta import ResourceKind

from .codec import hints
from .constants import DEFAULT_EIP_BANDWIDTH_MBPS, DEFAULT_EIP_ISP, GROUP, VERSION
from .enums import DeletePolicy, Isp
from .objectmeta import ObjectMeta
from .resource import AGE_COLUMN, CustomObject, PrinterColumn
from .vpcipclaim import ClaimPhase

EIP_CLAIM = ResourceKind(
    group=GROUP, version=VERSION, kind="EIPClaim", plural="eipclaims", namespaced=True, short_names=("eipc",)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EIPClaimSpec:
    """What the pod asked for (from its eip-* annotations when the claim was made)."""

    bandwidth: int = field(default=DEFAULT_EIP_BANDWIDTH_MBPS, metadata=hints(minimum=1))
    """Public bandwidth limit in Mbps."""
    isp: Isp = DEFAULT_EIP_ISP
    """Line of the EIP: BGP, CMCC, CTCC or CUCC."""
    delete_policy: DeletePolicy = DeletePolicy.IMMEDIATE
    """Immediate: the EIP is released with the pod. Never: it is kept for the next pod."""
    eip_ids: tuple[str, ...] = ()
    """Existing EIPs to bind instead of allocating one (eip-id-list)."""
    expired_duration: timedelta | None = field(default=None, metadata=hints(fmt="duration"))
    """How long a retained EIP outlives its pod (Go duration, at least 5m); unset: forever."""
    pod_uid: str = ""
    """UID of the pod currently using the claim; empty while retained."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EIPClaimStatus:
    """The EIP that serves the claim and where it is associated."""

    phase: ClaimPhase | None = None
    """Pending, Bound, Retained or Expired."""
    eip_id: str = ""
    """The EIP (``eip-...``)."""
    public_ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """Its public address (also published on the pod as tke.cloud.tencent.com/eip-public-ip)."""
    private_ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """The pod's private IP the EIP is associated with."""
    eni_id: str = ""
    """ENI holding that private IP."""
    released_time: datetime | None = None
    """When the pod went away (the start of the expiry clock)."""
    message: str = ""
    """Why the claim cannot be served, when it cannot (e.g. the account's EIP quota)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EIPClaim(CustomObject):
    """A pod's elastic public IP, named after the pod, in the pod's namespace."""

    RESOURCE: ClassVar[ResourceKind] = EIP_CLAIM
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Public-IP", type="string", json_path=".status.publicIP"),
        PrinterColumn(name="Private-IP", type="string", json_path=".status.privateIP"),
        PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
        PrinterColumn(name="Policy", type="string", json_path=".spec.deletePolicy"),
        PrinterColumn(name="EIP", type="string", json_path=".status.eipId", priority=1),
        AGE_COLUMN,
    )

    metadata: ObjectMeta
    spec: EIPClaimSpec = field(default_factory=EIPClaimSpec)
    status: EIPClaimStatus = field(default_factory=EIPClaimStatus)
