"""Values of the cloud interface: ids, ENIs, private IPs, subnets, instances, quotas and EIPs.

Every value is a frozen dataclass built once from a cloud reply and never mutated, so it can be
shared between threads and cached. Ids are ``NewType`` strings so that an ENI id cannot be passed
where a subnet id is expected. Enumerations carry the cloud's own spelling as their value; a state
string this code does not know maps to the ``UNKNOWN`` member instead of failing a whole describe.

This module must never import a vendor SDK: controllers and agents depend on it.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NewType, Self

__all__ = [
    "AttachType",
    "Eip",
    "EipId",
    "EipState",
    "Eni",
    "EniAttachment",
    "EniId",
    "EniLimits",
    "EniState",
    "Instance",
    "InstanceId",
    "IpState",
    "PrivateIp",
    "SecurityGroupId",
    "Subnet",
    "SubnetId",
    "VpcId",
]

EniId = NewType("EniId", str)
SubnetId = NewType("SubnetId", str)
InstanceId = NewType("InstanceId", str)
SecurityGroupId = NewType("SecurityGroupId", str)
EipId = NewType("EipId", str)
VpcId = NewType("VpcId", str)


class _CloudEnum(enum.Enum):
    """An enum whose unknown values parse to ``UNKNOWN`` rather than raising."""

    @classmethod
    def parse(cls, value: object) -> Self:
        try:
            return cls(value)
        except ValueError:
            return cls["UNKNOWN"]


class EniState(_CloudEnum):
    """Lifecycle state of an ENI (``NetworkInterface.State``)."""

    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    ATTACHING = "ATTACHING"
    DETACHING = "DETACHING"
    DELETING = "DELETING"
    UNKNOWN = "UNKNOWN"


class IpState(_CloudEnum):
    """State of one private IP on an ENI (``PrivateIpAddressSpecification.State``)."""

    PENDING = "PENDING"
    MIGRATING = "MIGRATING"
    DELETING = "DELETING"
    AVAILABLE = "AVAILABLE"
    UNKNOWN = "UNKNOWN"


class EipState(_CloudEnum):
    """State of an elastic public IP (``Address.AddressStatus``)."""

    CREATING = "CREATING"
    BINDING = "BINDING"
    BIND = "BIND"
    BIND_ENI = "BIND_ENI"
    UNBINDING = "UNBINDING"
    UNBIND = "UNBIND"
    OFFLINING = "OFFLINING"
    UNKNOWN = "UNKNOWN"


class AttachType(enum.IntEnum):
    """``AttachNetworkInterface.AttachType``: 0 standard (shared ENI), 1 extension (exclusive ENI)."""

    STANDARD = 0
    EXTENSION = 1


@dataclass(frozen=True, slots=True)
class PrivateIp:
    """One private IPv4 address of an ENI; ``eip`` is the bound public IP, if any."""

    address: str
    primary: bool
    state: IpState
    eip: str | None = None


@dataclass(frozen=True, slots=True)
class EniAttachment:
    """Where an ENI is attached: the instance, its device index on it and the attach type."""

    instance_id: InstanceId
    device_index: int
    attach_type: AttachType = AttachType.STANDARD


@dataclass(frozen=True, slots=True)
class Eni:
    """An elastic network interface as the cloud last described it.

    ``tags`` is a read-only mapping; the value is not hashable because of it, which no caller needs.
    """

    id: EniId
    mac: str
    primary_ip: str
    private_ips: tuple[PrivateIp, ...]
    subnet_id: SubnetId
    vpc_id: VpcId
    security_group_ids: tuple[SecurityGroupId, ...]
    attachment: EniAttachment | None
    state: EniState
    tags: Mapping[str, str] = field(default_factory=dict)
    zone: str | None = None
    primary: bool = False
    """True for an instance's primary ENI (created with the instance, never detached)."""
    name: str = ""

    @property
    def secondary_ips(self) -> tuple[PrivateIp, ...]:
        """The private IPs other than the primary one, in the cloud's order."""
        return tuple(ip for ip in self.private_ips if not ip.primary)


@dataclass(frozen=True, slots=True)
class Subnet:
    """A VPC subnet; ``available_ip_count`` is the cloud's count at describe time.

    ``route_table_id`` is the route table the subnet is associated with (``rtb-...``; empty when unknown).
    """

    id: SubnetId
    cidr: str
    zone: str
    available_ip_count: int
    vpc_id: VpcId
    name: str = ""
    route_table_id: str = ""

    @property
    def gateway(self) -> str:
        """The subnet's gateway: the first host address of its CIDR.

        >>> Subnet(SubnetId("subnet-1"), "10.0.1.0/24", "ap-guangzhou-3", 250, VpcId("vpc-1")).gateway
        '10.0.1.1'
        """
        network = ipaddress.ip_network(self.cidr, strict=False)
        return str(network.network_address + 1)


@dataclass(frozen=True, slots=True)
class Instance:
    """A CVM instance; the primary ENI fields are filled when the adapter could find that ENI."""

    id: InstanceId
    zone: str
    instance_type: str
    cpu: int
    memory: int
    """Memory in GiB, as CVM reports it."""
    vpc_id: VpcId | None
    subnet_id: SubnetId | None
    primary_ip: str | None
    security_group_ids: tuple[SecurityGroupId, ...]
    primary_eni_id: EniId | None = None
    primary_mac: str | None = None


@dataclass(frozen=True, slots=True)
class EniLimits:
    """ENI quotas of one instance (``DescribeNetworkInterfaceLimit``); counts include the primaries."""

    eni_quantity: int
    eni_private_ip_quantity: int
    extend_eni_quantity: int = 0
    extend_eni_private_ip_quantity: int = 0

    @property
    def max_secondary_enis(self) -> int:
        """Standard ENIs that may be attached besides the primary ENI."""
        return max(0, self.eni_quantity - 1)

    @property
    def max_secondary_ips_per_eni(self) -> int:
        """Private IPs per ENI besides its primary IP."""
        return max(0, self.eni_private_ip_quantity - 1)


@dataclass(frozen=True, slots=True)
class Eip:
    """An elastic public IP and what it is bound to."""

    id: EipId
    public_ip: str
    state: EipState
    eni_id: EniId | None
    private_ip: str | None
    bandwidth: int | None
    """Maximum outbound bandwidth in Mbit/s, when the cloud reports it."""
    isp: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    instance_id: InstanceId | None = None
