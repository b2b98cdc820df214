"""VpcIP (``vip``): one VPC private IP in use by the cluster, named by the address itself.

The object exists from the moment ipamd decides to assign the IP until it is unassigned in the
VPC, so the API server always knows every IP the cluster holds (leaked-IP GC compares the two).
It carries the label ``tke.cloud.tencent.com/node-name`` so node-scoped readers can select theirs.
In static-IP mode a VpcIP of type Pod names its VpcIPClaim in ``spec.claimRef`` (the one source of
truth for which claim owns the address; the claim's status.ip points back) and outlives its pod
while the claim is retained; the node's NodeENIConfig lists it with ``pod`` set so the agent hands it
to that pod only.
Values only: this module must never talk to the API or the cloud, nor import beyond the standard
library and eni.runtime.meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from eni.runtime.meta import ResourceKind

from .constants import GROUP, VERSION
from .objectmeta import ObjectMeta, ObjectReference
from .resource import AGE_COLUMN, CustomObject, PrinterColumn

VPC_IP = ResourceKind(
    group=GROUP, version=VERSION, kind="VpcIP", plural="vpcips", namespaced=False, short_names=("vip",)
)


class VpcIPType(StrEnum):
    """Whom the IP serves."""

    POOL = "Pool"
    """Part of a node's warm pool (non-static mode); any pod of the node may get it."""
    POD = "Pod"
    """Claimed by one pod through a VpcIPClaim (static-IP mode)."""


class VpcIPPhase(StrEnum):
    """Where an IP is in its life."""

    ASSIGNING = "Assigning"
    ASSIGNED = "Assigned"
    RELEASING = "Releasing"
    RELEASED = "Released"


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIPSpec:
    """Where the IP lives and whom it serves."""

    subnet_id: str
    """Subnet of the IP."""
    type: VpcIPType = VpcIPType.POOL
    """Pool (a node's warm pool) or Pod (claimed by one pod)."""
    eni_id: str = ""
    """ENI the IP is (or is being) assigned to; empty while a retained IP waits for its next pod."""
    node_name: str = ""
    """Node of that ENI."""
    claim_ref: ObjectReference | None = None
    """The VpcIPClaim holding this IP (type Pod only)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIPStatus:
    """The IP as last observed in the cloud."""

    phase: VpcIPPhase | None = None
    """Assigning, Assigned, Releasing or Released."""
    message: str = ""
    """Why the IP is stuck, when it is (last cloud error)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcIP(CustomObject):
    """A VPC private IP held by the cluster, named by the address (e.g. ``10.0.1.23``)."""

    RESOURCE: ClassVar[ResourceKind] = VPC_IP
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="IP", type="string", json_path=".metadata.name"),
        PrinterColumn(name="Node", type="string", json_path=".spec.nodeName"),
        PrinterColumn(name="ENI", type="string", json_path=".spec.eniId"),
        PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
        PrinterColumn(name="Type", type="string", json_path=".spec.type"),
        AGE_COLUMN,
    )

    metadata: ObjectMeta
    spec: VpcIPSpec
    status: VpcIPStatus = field(default_factory=VpcIPStatus)

    @property
    def ip(self) -> str:
        """The address (the object's name)."""
        return self.metadata.name
