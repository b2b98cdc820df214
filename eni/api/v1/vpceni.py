"""VpcENI (``veni``): one cloud ENI of the cluster, named by its ENI id, and its lifecycle.

ipamd writes a VpcENI before it asks the cloud for anything, so that a crash between "created in
the cloud" and "recorded" cannot leak an ENI; a finalizer keeps the object until the ENI is gone.
Values only: this module must never talk to the API or the cloud, nor import beyond the standard
library and eni.runtime.meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from eni.runtime.meta import ResourceKind

from .codec import hints
from .constants import GROUP, VERSION
from .enums import EniType
from .objectmeta import ObjectMeta, ObjectReference
from .resource import AGE_COLUMN, CustomObject, PrinterColumn

VPC_ENI = ResourceKind(
    group=GROUP, version=VERSION, kind="VpcENI", plural="vpcenis", namespaced=False, short_names=("veni",)
)


class VpcENIPhase(StrEnum):
    """Where an ENI is in its life."""

    CREATING = "Creating"
    ATTACHING = "Attaching"
    ATTACHED = "Attached"
    DETACHING = "Detaching"
    DETACHED = "Detached"
    DELETING = "Deleting"


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcENISpec:
    """What the ENI is for: its node, subnet, security groups and kind."""

    subnet_id: str
    """Subnet the ENI is created in."""
    type: EniType = EniType.ROUTE
    """route (secondary IPs shared by pods) or direct (the whole ENI goes to one pod)."""
    node_name: str = ""
    """Node the ENI should be attached to; empty for a detached ENI kept for a static pod."""
    instance_id: str = ""
    """CVM instance of that node (``ins-...``)."""
    security_group_ids: tuple[str, ...] = ()
    """Security groups to bind, in order."""
    owner_pod: ObjectReference | None = None
    """For a static exclusive ENI: the pod (namespace/name) it is kept for across pod re-creation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcENIStatus:
    """The ENI as last observed in the cloud."""

    phase: VpcENIPhase | None = None
    """Creating, Attaching, Attached, Detaching, Detached or Deleting."""
    mac: str = field(default="", metadata=hints(fmt="mac"))
    """MAC address assigned by the cloud."""
    primary_ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """Primary private IP of the ENI."""
    attached_instance_id: str = ""
    """Instance the ENI is attached to right now, if any."""
    device_index: int | None = field(default=None, metadata=hints(minimum=0))
    """Attachment order on the instance, once attached."""
    message: str = ""
    """Why the ENI is stuck, when it is (last cloud error)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VpcENI(CustomObject):
    """An elastic network interface owned by the cluster, named by its ENI id (``eni-...``)."""

    RESOURCE: ClassVar[ResourceKind] = VPC_ENI
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Node", type="string", json_path=".spec.nodeName"),
        PrinterColumn(name="Subnet", type="string", json_path=".spec.subnetId"),
        PrinterColumn(name="Type", type="string", json_path=".spec.type"),
        PrinterColumn(name="Owner-Pod", type="string", json_path=".spec.ownerPod.name"),
        PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
        PrinterColumn(name="Primary-IP", type="string", json_path=".status.primaryIP", priority=1),
        PrinterColumn(name="MAC", type="string", json_path=".status.mac", priority=1),
        AGE_COLUMN,
    )

    metadata: ObjectMeta
    spec: VpcENISpec
    status: VpcENIStatus = field(default_factory=VpcENIStatus)
