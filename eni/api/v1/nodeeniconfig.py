"""NodeENIConfig (``nec``): one per node, named after it; the contract between ipamd and the node agent.

Two writers share the status and must never clobber each other, so each owns one part and
writes only that part with a JSON merge patch on the status subresource:
- ipamd owns ``status.enis``, ``status.conditions`` and the counters (``ipamd_status_patch``);
- the node agent owns ``status.agent`` (``agent_status_patch``).
Neither may PUT the whole status from a cached copy.

Release handshake (the only way an IP leaves a node): ipamd sets an IP's state to ``Releasing``;
the agent stops handing it out and, once no pod holds it, lists it in ``status.agent.releasedIPs``;
ipamd unassigns only IPs that are both ``Releasing`` and in ``releasedIPs``. The agent never lists
an IP it has given to a pod, and never hands out an IP it has listed there.

Static-IP mode (ipamd ``--mode static``): every secondary IP ipamd publishes carries ``pod``, the pod
(namespace, name and the uid last bound) it is reserved for through that pod's VpcIPClaim. The agent
gives a reserved IP only to the pod whose CNI_ARGS K8S_POD_NAMESPACE/K8S_POD_NAME match ``pod`` and
never to another pod; until the pod's IP appears in this status the agent answers that pod's ADD
with CNI error 11 ("try again later"). An IP without ``pod`` (non-static mode) is a pool IP that any
pod of the node may get.

Exclusive ENIs (``type: direct``): the whole ENI goes into one pod's network namespace. The same
handshake covers them: ipamd sets the ENI's ``state`` to ``Releasing`` when it wants it back (warm pool
above its maximum, or the static pod it was kept for is gone); the agent stops handing it out and, once
no pod holds it and the link is back in the node's namespace, lists its id in
``status.agent.releasedENIs``; ipamd detaches only direct ENIs that are both ``Releasing`` and listed
there. The agent lists the direct ENIs pods hold in ``status.agent.inUseENIs`` (ipamd sizes the warm
pool from it). In static-IP mode a direct ENI carries ``pod``: only that pod may get it.
Values only: this module must never talk to the API or the cloud, nor import beyond the standard
library and eni.runtime.meta.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from eni.runtime.meta import ResourceKind

from .codec import encode_replacing, hints
from .constants import GROUP, VERSION
from .enums import EniType
from .objectmeta import Condition, ObjectMeta
from .resource import AGE_COLUMN, CustomObject, PrinterColumn

NODE_ENI_CONFIG = ResourceKind(
    group=GROUP, version=VERSION, kind="NodeENIConfig", plural="nodeeniconfigs", namespaced=False,
    short_names=("nec",),
)


class IPState(StrEnum):
    """State of a secondary IP on a node's ENI."""

    BOUND = "Bound"
    """Assigned in the VPC and usable by pods of the node."""
    RELEASING = "Releasing"
    """ipamd wants it back; the agent must not hand it out any more."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeENIConfigSpec:
    """The node's instance and limits; written by ipamd, adjustable through the NEC's annotations."""

    instance_id: str
    """CVM instance id of the node (``ins-...``), taken from the Node's spec.providerID."""
    zone: str = ""
    """Availability zone of the instance, e.g. ``ap-guangzhou-3``."""
    instance_type: str = ""
    """CVM instance type, e.g. ``S5.MEDIUM4``; decides the cloud's ENI and IP quotas."""
    subnet_ids: tuple[str, ...] = ()
    """Subnets (in the node's zone) in which ipamd may create ENIs for this node."""
    security_group_ids: tuple[str, ...] = ()
    """Security groups bound to every ENI of the node, in order; editing this takes effect at once."""
    max_eni: int = field(default=0, metadata=hints(minimum=0))
    """Secondary (shared) ENIs the node may attach: the cloud quota minus the primary ENI, lowered by
    the route-eni-max-attach annotation."""
    max_ip_per_eni: int = field(default=0, metadata=hints(minimum=0))
    """Secondary IPs per ENI: the cloud quota minus the primary IP, lowered by max-ip-per-route-eni."""
    max_direct_eni: int = field(default=0, metadata=hints(minimum=0))
    """Exclusive ENIs the node may attach, lowered by direct-eni-max-attach."""
    eip_quota: int = field(default=0, metadata=hints(minimum=0))
    """Elastic public IPs the node's pods may hold (instance EIP quota minus one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PodRef:
    """The pod a static IP is reserved for (static-IP mode)."""

    namespace: str
    """Namespace of the pod (and of its VpcIPClaim)."""
    name: str
    """Name of the pod (and of its VpcIPClaim)."""
    uid: str = ""
    """UID of the pod the claim is bound to now; empty while the IP is retained for the next pod of that
    name. The agent matches on namespace and name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EniIP:
    """A secondary IP of an ENI."""

    ip: str = field(metadata=hints(fmt="ipv4"))
    """The private IPv4 address."""
    state: IPState = IPState.BOUND
    """Bound (usable) or Releasing (ipamd wants it back; see the release handshake)."""
    pod: PodRef | None = None
    """Static-IP mode only: the one pod that may get this IP; unset for pool IPs any pod may get."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeENI:
    """An ENI attached to the node, with everything the agent needs to plumb it."""

    eni_id: str
    """ENI id (``eni-...``)."""
    mac: str = field(default="", metadata=hints(fmt="mac"))
    """MAC address; the agent finds the link by it."""
    primary_ip: str = field(default="", metadata=hints(fmt="ipv4"))
    """The ENI's primary private IP, configured on the link."""
    subnet_id: str = ""
    """Subnet of the ENI."""
    subnet_cidr: str = field(default="", metadata=hints(fmt="cidr"))
    """CIDR block of the subnet, e.g. ``10.0.1.0/24``."""
    gateway: str = field(default="", metadata=hints(fmt="ipv4"))
    """The subnet's gateway: the ENI route table's default route goes via it."""
    route_table_id: str = ""
    """VPC route table of the ENI's subnet (``rtb-...``). The agent picks the Linux routing table itself."""
    type: EniType = EniType.ROUTE
    """route (shared by pods through its secondary IPs) or direct (moved into one pod)."""
    device_index: int = field(default=0, metadata=hints(minimum=0))
    """Attachment order on the instance; the primary ENI is 0."""
    ips: tuple[EniIP, ...] = ()
    """Secondary IPs assigned to the ENI in the VPC."""
    state: IPState = IPState.BOUND
    """Direct ENIs only: Bound (usable) or Releasing (ipamd wants it back; see the release handshake)."""
    pod: PodRef | None = None
    """Direct ENIs in static-IP mode only: the one pod that may get this ENI."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatus:
    """What the node agent reports; written only by the agent."""

    in_use_ips: tuple[str, ...] = field(default=(), metadata=hints(fmt="ipv4"))
    """IPs held by pods of the node right now."""
    released_ips: tuple[str, ...] = field(default=(), metadata=hints(fmt="ipv4"))
    """IPs in state Releasing that the agent promises never to hand out again; only these may be
    unassigned by ipamd."""
    in_use_enis: tuple[str, ...] = ()
    """Direct (exclusive) ENIs held by pods of the node right now."""
    released_enis: tuple[str, ...] = ()
    """Direct ENIs in state Releasing that no pod holds, back in the node's namespace, and that the agent
    promises never to hand out again; only these may be detached by ipamd."""
    heartbeat_time: datetime | None = None
    """When the agent last wrote this status."""
    observed_generation: int | None = field(default=None, metadata=hints(minimum=0))
    """The NEC metadata.generation the agent has acted on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeENIConfigStatus:
    """The node's ENIs and IPs as ipamd last saw them in the cloud, plus the agent's report."""

    enis: tuple[NodeENI, ...] = ()
    """Attached ENIs with their IPs; written only by ipamd."""
    conditions: tuple[Condition, ...] = ()
    """Conditions of the node's networking (e.g. ENILimitReached); written only by ipamd."""
    agent: AgentStatus = field(default_factory=AgentStatus)
    """The node agent's report; written only by the agent."""
    eni_count: int = field(init=False, default=0)
    """Number of attached ENIs (derived from enis, for kubectl)."""
    ip_count: int = field(init=False, default=0)
    """Number of secondary IPs in state Bound (derived from enis, for kubectl)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "eni_count", len(self.enis))
        object.__setattr__(self, "ip_count", len(self.ips_in_state(IPState.BOUND)))

    def ips_in_state(self, state: IPState) -> tuple[str, ...]:
        """The secondary IPs of all ENIs in ``state``, in ENI order."""
        return tuple(entry.ip for eni in self.enis for entry in eni.ips if entry.state is state)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeENIConfig(CustomObject):
    """Per-node ENI configuration and state, named after the node.

    The spec carries the instance, its zone, subnets, security groups and limits; the status lists
    the attached ENIs with their IPs (written by ipamd) and the node agent's report.
    """

    RESOURCE: ClassVar[ResourceKind] = NODE_ENI_CONFIG
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Instance", type="string", json_path=".spec.instanceId"),
        PrinterColumn(name="Zone", type="string", json_path=".spec.zone"),
        PrinterColumn(name="ENIs", type="integer", json_path=".status.eniCount"),
        PrinterColumn(name="IPs", type="integer", json_path=".status.ipCount"),
        AGE_COLUMN,
    )

    metadata: ObjectMeta
    spec: NodeENIConfigSpec
    status: NodeENIConfigStatus = field(default_factory=NodeENIConfigStatus)

    def status_patch(self) -> dict[str, Any]:
        """ipamd's part of the status only (``ipamd_status_patch``): status.agent belongs to the agent."""
        return ipamd_status_patch(enis=self.status.enis, conditions=self.status.conditions)


def ipamd_status_patch(*, enis: Iterable[NodeENI], conditions: Iterable[Condition]) -> dict[str, Any]:
    """A merge patch for the status subresource that replaces exactly ipamd's part of the status.

    Lists are written in full (merge patch replaces lists) and ``status.agent`` is left alone.
    """
    status = NodeENIConfigStatus(enis=tuple(enis), conditions=tuple(conditions))
    body = encode_replacing(status)
    del body["agent"]
    return {"status": body}


def agent_status_patch(agent: AgentStatus) -> dict[str, Any]:
    """A merge patch for the status subresource that replaces exactly ``status.agent``.

    Empty lists are written as ``[]`` and unset values as ``null`` so stale entries are cleared.
    """
    return {"status": {"agent": encode_replacing(agent)}}
