"""The mutable records of the emulated cloud: subnets, ENIs and their IPs, instances, EIPs, tasks.

They live only inside ``state.CloudState`` and are touched only with its lock held; nothing outside
the emulator ever sees them (replies and hook views are copies made by ``views``).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError, malformed
from .hooks import HookEvent
from .world import InstanceType, SubnetSpec


def wall_time() -> str:
    """Timestamps the way the API prints them: ``2026-11-28 04:30:00``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


@dataclass
class SubnetRecord:
    spec: SubnetSpec
    vpc_id: str
    network: ipaddress.IPv4Network
    reserved: frozenset[str]
    route_table_id: str
    used: dict[str, str] = field(default_factory=dict)  # ip -> eni id; invariant: one owner per IP
    created_time: str = field(default_factory=wall_time)

    @property
    def total(self) -> int:
        return self.network.num_addresses - len(self.reserved)

    @property
    def available(self) -> int:
        return self.total - len(self.used)

    def free_addresses(self, count: int) -> list[str]:
        """The ``count`` lowest free addresses, or ResourceInsufficient.Subnet."""
        if count <= 0:
            return []
        if count > self.available:
            raise ApiError("ResourceInsufficient.Subnet", f"`{self.spec.subnet_id}` has too few free IPs.")
        found: list[str] = []
        for host in self.network.hosts():
            ip = str(host)
            if ip not in self.used and ip not in self.reserved:
                found.append(ip)
                if len(found) == count:
                    break
        return found

    def check_claimable(self, ip: str) -> None:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError as e:
            raise malformed("PrivateIpAddress", ip) from e
        if addr not in self.network:
            raise ApiError("InvalidParameterValue.Range", f"The IP `{ip}` is not in subnet `{self.spec.subnet_id}`.")
        if ip in self.reserved:
            raise ApiError("InvalidParameterValue.Reserved", f"The IP `{ip}` is reserved by the subnet.")
        if ip in self.used:
            raise ApiError("InvalidParameterValue.Occupied", f"The IP `{ip}` is already in use.")


@dataclass
class IpRecord:
    address: str
    primary: bool
    state: str = "AVAILABLE"  # PENDING, MIGRATING, DELETING, AVAILABLE
    description: str = ""


@dataclass
class EniRecord:
    eni_id: str
    name: str
    description: str
    vpc_id: str
    subnet_id: str
    zone: str
    mac: str
    primary: bool
    state: str  # PENDING, AVAILABLE, ATTACHING, DETACHING, DELETING
    ips: dict[str, IpRecord]  # ordered: the primary IP first
    groups: list[str]
    tags: dict[str, str]
    instance_id: str = ""
    attach_type: int = 0
    device_index: int = 0
    attach_time: str = ""
    busy_task: str = ""
    created_time: str = field(default_factory=wall_time)

    @property
    def primary_ip(self) -> str:
        return next(iter(self.ips))


@dataclass
class InstanceRecord:
    instance_id: str
    itype: InstanceType
    zone: str
    subnet_id: str
    group_ids: list[str]
    name: str
    primary_eni_id: str = ""
    created_time: str = field(default_factory=wall_time)


@dataclass
class EipRecord:
    address_id: str
    ip: str
    status: str  # CREATING, BINDING, BIND, BIND_ENI, UNBINDING, UNBIND, OFFLINING
    name: str
    isp: str
    bandwidth: int
    tags: dict[str, str]
    eni_id: str = ""
    private_ip: str = ""
    instance_id: str = ""
    created_time: str = field(default_factory=wall_time)


@dataclass
class Task:
    task_id: str
    due: float
    fail: bool
    commit: Callable[[], list[HookEvent]]
    rollback: Callable[[], list[HookEvent]]
    eni_ids: tuple[str, ...] = ()
    status: str = "RUNNING"  # RUNNING, SUCCESS, FAILED
    output: str = ""
