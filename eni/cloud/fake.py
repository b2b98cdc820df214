"""``FakeVpc``: an in-memory ``VpcApi`` with real behaviour, for unit tests of controllers.

It keeps subnets, instances with ENI quotas, ENIs, private IPs and EIPs, allocates the lowest free
address of a subnet (network, gateway and broadcast reserved), enforces the quotas and state rules of
the real cloud and raises the same typed errors with the same Tencent codes as the adapter would.
Mutations take effect at once (there are no asynchronous tasks) and intents are idempotent: replaying
an intent returns the first result. ``interceptor`` (called with the method name and its arguments
before anything changes) lets a test inject any error, the way controller-runtime's interceptor does.

It never performs I/O and never sleeps; one lock makes it thread-safe.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eni.cloud.errors import Conflict, InvalidRequest, NotFound, QuotaExceeded, SubnetExhausted
from eni.cloud.types import (
    AttachType,
    Eip,
    EipId,
    EipState,
    Eni,
    EniAttachment,
    EniId,
    EniLimits,
    EniState,
    Instance,
    InstanceId,
    IpState,
    PrivateIp,
    SecurityGroupId,
    Subnet,
    SubnetId,
    VpcId,
)

__all__ = ["FakeVpc", "Interceptor"]

Interceptor = Callable[[str, Mapping[str, Any]], None]
"""Called as ``interceptor(method, arguments)`` before a method acts; raise to inject a failure."""

UNATTACHED_IP_QUOTA = 10


@dataclass
class _EniRecord:
    eni: Eni
    addresses: dict[str, str | None] = field(default_factory=dict)  # address -> bound EIP public IP


class FakeVpc:
    """In-memory VPC/CVM of one VPC; see the module docstring."""

    def __init__(self, *, vpc_id: str = "vpc-fake0001", eip_quota: int = 20,
                 route_table_id: str = "rtb-fake0001") -> None:
        self.vpc_id = VpcId(vpc_id)
        self.route_table_id = route_table_id  # the VPC's default route table
        self.eip_quota = eip_quota
        self.interceptor: Interceptor | None = None
        self.calls: list[str] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._subnets: dict[SubnetId, tuple[Subnet, ipaddress.IPv4Network]] = {}
        self._used: dict[str, EniId] = {}
        self._instances: dict[InstanceId, tuple[Instance, EniLimits]] = {}
        self._enis: dict[EniId, _EniRecord] = {}
        self._eips: dict[EipId, Eip] = {}
        self._intents: dict[tuple[str, str, str], Any] = {}

    # ---- world building --------------------------------------------------------------------------

    def add_subnet(self, subnet_id: str, cidr: str, zone: str, *, route_table_id: str = "") -> None:
        """A subnet associated with ``route_table_id``, else with the VPC's default route table."""
        subnet = Subnet(SubnetId(subnet_id), cidr, zone, 0, self.vpc_id,
                        route_table_id=route_table_id or self.route_table_id)
        with self._lock:
            self._subnets[subnet.id] = (subnet, ipaddress.IPv4Network(cidr))

    def add_instance(self, instance_id: str, *, subnet_id: str, limits: EniLimits, cpu: int = 2) -> Instance:
        """An instance in ``subnet_id``'s zone, with a primary ENI holding its primary IP."""
        with self._lock:
            subnet, _ = self._subnet(SubnetId(subnet_id))
            primary = self._new_eni(subnet, name="primary", groups=(), tags={}, primary=True)
            iid = InstanceId(instance_id)
            primary.eni = replace(primary.eni, attachment=EniAttachment(iid, 0))
            instance = Instance(iid, subnet.zone, f"FAKE.{cpu}C", cpu, 2 * cpu, self.vpc_id, subnet.id,
                                primary.eni.primary_ip, (), primary.eni.id, primary.eni.mac)
            self._instances[iid] = (instance, limits)
            return instance

    # ---- ENIs ----------------------------------------------------------------------------------------

    def create_eni(self, *, intent: str, subnet_id: SubnetId, name: str,
                   security_group_ids: Sequence[SecurityGroupId] = (), secondary_ip_count: int = 0,
                   tags: Mapping[str, str] | None = None, description: str = "") -> Eni:
        with self._lock:
            self._enter("create_eni", intent=intent, subnet_id=subnet_id, name=name)
            key = ("create_eni", intent, subnet_id)
            if key in self._intents:
                return self._view(self._intents[key])
            subnet, _ = self._subnet(subnet_id)
            if secondary_ip_count + 1 > UNATTACHED_IP_QUOTA:
                raise QuotaExceeded("LimitExceeded", "an unattached ENI holds at most 10 IPs")
            self._free(subnet_id, secondary_ip_count + 1)
            record = self._new_eni(subnet, name=name, groups=tuple(security_group_ids), tags=dict(tags or {}))
            for address in self._free(subnet_id, secondary_ip_count):
                self._take(record, address)
            self._intents[key] = record.eni.id
            return self._view(record.eni.id)

    def attach_eni(self, eni_id: EniId, instance_id: InstanceId, *,
                   attach_type: AttachType = AttachType.STANDARD) -> None:
        with self._lock:
            self._enter("attach_eni", eni_id=eni_id, instance_id=instance_id)
            record, (instance, limits) = self._eni(eni_id), self._instance(instance_id)
            if record.eni.attachment is not None:
                raise Conflict("UnsupportedOperation.AttachmentAlreadyExists", f"{eni_id} is attached")
            if record.eni.zone != instance.zone:
                raise Conflict("UnsupportedOperation.ZoneMismatch", f"{eni_id} is not in {instance.zone}")
            attached = [r.eni.attachment for r in self._enis.values()
                        if r.eni.attachment and r.eni.attachment.instance_id == instance_id]
            if len(attached) >= limits.eni_quantity:
                raise QuotaExceeded("LimitExceeded", f"{instance_id} holds its {limits.eni_quantity} ENIs")
            if len(record.addresses) > limits.eni_private_ip_quantity:
                raise QuotaExceeded("LimitExceeded", f"{eni_id} holds more IPs than {instance_id} allows")
            index = min(set(range(len(attached) + 1)) - {a.device_index for a in attached})
            record.eni = replace(record.eni, attachment=EniAttachment(instance_id, index, attach_type))

    def detach_eni(self, eni_id: EniId, instance_id: InstanceId) -> None:
        with self._lock:
            self._enter("detach_eni", eni_id=eni_id, instance_id=instance_id)
            record = self._eni(eni_id)
            if record.eni.attachment is None or record.eni.attachment.instance_id != instance_id:
                raise Conflict("UnsupportedOperation.AttachmentNotFound", f"{eni_id} is not attached there")
            if record.eni.primary:
                raise Conflict("UnsupportedOperation.InvalidState", "a primary ENI cannot be detached")
            record.eni = replace(record.eni, attachment=None)

    def delete_eni(self, eni_id: EniId) -> None:
        with self._lock:
            self._enter("delete_eni", eni_id=eni_id)
            record = self._eni(eni_id)
            if record.eni.primary:
                raise Conflict("UnsupportedOperation.InvalidState", "a primary ENI cannot be deleted")
            if record.eni.attachment is not None:
                raise Conflict("ResourceInUse", f"{eni_id} is attached; detach it first")
            for address in record.addresses:
                del self._used[address]
            for eip in list(self._eips.values()):
                if eip.eni_id == eni_id:
                    self._eips[eip.id] = replace(eip, state=EipState.UNBIND, eni_id=None, private_ip=None)
            del self._enis[eni_id]

    def modify_eni_attribute(self, eni_id: EniId, *, name: str | None = None, description: str | None = None,
                             security_group_ids: Sequence[SecurityGroupId] | None = None) -> None:
        with self._lock:
            self._enter("modify_eni_attribute", eni_id=eni_id)
            record = self._eni(eni_id)
            if name is not None:
                record.eni = replace(record.eni, name=name)
            if security_group_ids is not None:
                record.eni = replace(record.eni, security_group_ids=tuple(security_group_ids))

    def associate_security_groups(self, eni_ids: Sequence[EniId],
                                  security_group_ids: Sequence[SecurityGroupId]) -> None:
        with self._lock:
            self._enter("associate_security_groups", eni_ids=eni_ids)
            for record in [self._eni(e) for e in eni_ids]:
                groups = record.eni.security_group_ids + tuple(security_group_ids)
                record.eni = replace(record.eni, security_group_ids=tuple(dict.fromkeys(groups)))

    def disassociate_security_groups(self, eni_ids: Sequence[EniId],
                                     security_group_ids: Sequence[SecurityGroupId]) -> None:
        with self._lock:
            self._enter("disassociate_security_groups", eni_ids=eni_ids)
            for record in [self._eni(e) for e in eni_ids]:
                groups = tuple(g for g in record.eni.security_group_ids if g not in security_group_ids)
                record.eni = replace(record.eni, security_group_ids=groups)

    def describe_enis(self, *, instance_id: InstanceId | None = None, eni_ids: Sequence[EniId] | None = None,
                      vpc_id: VpcId | None = None, subnet_id: SubnetId | None = None,
                      tags: Mapping[str, str] | None = None) -> tuple[Eni, ...]:
        with self._lock:
            self._enter("describe_enis")
            if eni_ids is not None and (instance_id or vpc_id or subnet_id or tags):
                raise ValueError("eni_ids cannot be combined with other filters (the API refuses it)")
            found = []
            for eni_id in self._enis:
                eni = self._view(eni_id)
                if eni_ids is not None and eni.id not in eni_ids:
                    continue
                if instance_id and (eni.attachment is None or eni.attachment.instance_id != instance_id):
                    continue
                if (subnet_id and eni.subnet_id != subnet_id) or (vpc_id and eni.vpc_id != vpc_id):
                    continue
                if any(eni.tags.get(k) != v for k, v in (tags or {}).items()):
                    continue
                found.append(eni)
            return tuple(found)

    def describe_eni_limits(self, instance_id: InstanceId) -> EniLimits:
        with self._lock:
            self._enter("describe_eni_limits", instance_id=instance_id)
            return self._instance(instance_id)[1]

    # ---- private IPs ---------------------------------------------------------------------------------

    def assign_private_ips(self, eni_id: EniId, *, intent: str, count: int = 0,
                           addresses: Sequence[str] = ()) -> tuple[PrivateIp, ...]:
        with self._lock:
            self._enter("assign_private_ips", eni_id=eni_id, intent=intent, count=count, addresses=addresses)
            if bool(count) == bool(addresses) or count < 0 or not intent:
                raise ValueError("give an intent and either a positive count or addresses")
            key = ("assign_private_ips", intent, eni_id)
            if key in self._intents:
                return tuple(self._intents[key])
            record = self._eni(eni_id)
            wanted = list(addresses) or self._free(record.eni.subnet_id, count)
            if len(record.addresses) + len(wanted) > self._ip_quota(record):
                raise QuotaExceeded("LimitExceeded", f"{eni_id} may hold at most {self._ip_quota(record)} IPs")
            _, network = self._subnet(record.eni.subnet_id)
            for address in addresses:
                if ipaddress.IPv4Address(address) not in network:
                    raise InvalidRequest("InvalidParameterValue.Range", f"{address} is outside the subnet")
                if address in self._used:
                    raise InvalidRequest("InvalidParameterValue.Occupied", f"{address} is in use")
            for address in wanted:
                self._take(record, address)
            result = tuple(PrivateIp(a, False, IpState.AVAILABLE) for a in wanted)
            self._intents[key] = result
            return result

    def unassign_private_ips(self, eni_id: EniId, addresses: Sequence[str]) -> None:
        with self._lock:
            self._enter("unassign_private_ips", eni_id=eni_id, addresses=addresses)
            record = self._eni(eni_id)
            for address in addresses:
                if address not in record.addresses:
                    raise NotFound("ResourceNotFound", f"{address} is not assigned to {eni_id}")
                if address == record.eni.primary_ip:
                    raise InvalidRequest("InvalidParameterValue.Reserved", f"{address} is the primary IP")
            for address in addresses:
                del record.addresses[address]
                del self._used[address]

    def migrate_private_ip(self, address: str, *, source_eni_id: EniId, destination_eni_id: EniId) -> None:
        with self._lock:
            self._enter("migrate_private_ip", address=address)
            source, destination = self._eni(source_eni_id), self._eni(destination_eni_id)
            if source.eni.subnet_id != destination.eni.subnet_id:
                raise InvalidRequest("InvalidParameterValue.SubnetConflict", "both ENIs must share a subnet")
            if address not in source.addresses or address == source.eni.primary_ip:
                raise NotFound("ResourceNotFound", f"{address} is not a secondary IP of {source_eni_id}")
            if len(destination.addresses) + 1 > self._ip_quota(destination):
                raise QuotaExceeded("LimitExceeded", f"{destination_eni_id} is full")
            destination.addresses[address] = source.addresses.pop(address)
            self._used[address] = destination_eni_id

    # ---- subnets and instances -------------------------------------------------------------------

    def describe_subnets(self, subnet_ids: Sequence[SubnetId] | None = None, *, vpc_id: VpcId | None = None,
                         zone: str | None = None) -> tuple[Subnet, ...]:
        with self._lock:
            self._enter("describe_subnets")
            chosen = [s for s, _ in self._subnets.values()
                      if (subnet_ids is None or s.id in subnet_ids) and (zone is None or s.zone == zone)]
            return tuple(replace(s, available_ip_count=self._available(s.id)) for s in chosen)

    def describe_instances(self, instance_ids: Sequence[InstanceId]) -> tuple[Instance, ...]:
        with self._lock:
            self._enter("describe_instances")
            return tuple(self._instances[i][0] for i in instance_ids if i in self._instances)

    # ---- EIPs ------------------------------------------------------------------------------------------

    def allocate_eips(self, *, intent: str, count: int = 1, bandwidth: int = 100, isp: str = "BGP",
                      tags: Mapping[str, str] | None = None) -> tuple[Eip, ...]:
        with self._lock:
            self._enter("allocate_eips", intent=intent, count=count)
            key = ("allocate_eips", intent, "")
            if key in self._intents:
                return tuple(self._eips[e] for e in self._intents[key] if e in self._eips)
            if len(self._eips) + count > self.eip_quota:
                raise QuotaExceeded("AddressQuotaLimitExceeded", f"at most {self.eip_quota} EIPs per account")
            eips = []
            for _ in range(count):
                n = next(self._ids)
                public_ip = f"198.51.{n // 256 % 256}.{n % 256}"
                eip = Eip(EipId(f"eip-{n:08d}"), public_ip, EipState.UNBIND, None, None, bandwidth, isp,
                          dict(tags or {}))
                self._eips[eip.id] = eip
                eips.append(eip)
            self._intents[key] = [e.id for e in eips]
            return tuple(eips)

    def associate_eip(self, eip_id: EipId, *, eni_id: EniId, private_ip: str) -> None:
        with self._lock:
            self._enter("associate_eip", eip_id=eip_id, eni_id=eni_id, private_ip=private_ip)
            eip, record = self._eip(eip_id), self._eni(eni_id)
            if eip.state is not EipState.UNBIND:
                raise Conflict("InvalidAddressState", f"{eip_id} is {eip.state.value}")
            if private_ip not in record.addresses:
                code = "InvalidParameterValue.PrivateIpAddressNotMatch"
                raise InvalidRequest(code, f"{private_ip} is not on {eni_id}")
            if record.addresses[private_ip] is not None:
                raise Conflict("InvalidPrivateIpAddress.AlreadyBindEip", f"{private_ip} already has an EIP")
            record.addresses[private_ip] = eip.public_ip
            instance = record.eni.attachment.instance_id if record.eni.attachment else None
            self._eips[eip_id] = replace(eip, state=EipState.BIND_ENI, eni_id=eni_id, private_ip=private_ip,
                                         instance_id=instance)

    def disassociate_eip(self, eip_id: EipId) -> None:
        with self._lock:
            self._enter("disassociate_eip", eip_id=eip_id)
            eip = self._eip(eip_id)
            if eip.eni_id is None or eip.private_ip is None:
                raise Conflict("InvalidAddressState", f"{eip_id} is not bound")
            self._enis[eip.eni_id].addresses[eip.private_ip] = None
            self._eips[eip_id] = replace(eip, state=EipState.UNBIND, eni_id=None, private_ip=None, instance_id=None)

    def release_eips(self, eip_ids: Sequence[EipId]) -> None:
        with self._lock:
            self._enter("release_eips", eip_ids=eip_ids)
            eips = [self._eip(e) for e in eip_ids]
            if any(e.state is not EipState.UNBIND for e in eips):
                raise Conflict("InvalidAddressState", "only unbound EIPs can be released")
            for eip in eips:
                del self._eips[eip.id]

    def describe_eips(self, eip_ids: Sequence[EipId] | None = None, *,
                      tags: Mapping[str, str] | None = None) -> tuple[Eip, ...]:
        with self._lock:
            self._enter("describe_eips")
            return tuple(e for e in self._eips.values() if (eip_ids is None or e.id in eip_ids)
                         and all(e.tags.get(k) == v for k, v in (tags or {}).items()))

    # ---- internals -------------------------------------------------------------------------------------

    def _enter(self, method: str, **arguments: Any) -> None:
        self.calls.append(method)
        if self.interceptor is not None:
            self.interceptor(method, arguments)

    def _subnet(self, subnet_id: SubnetId) -> tuple[Subnet, ipaddress.IPv4Network]:
        if subnet_id not in self._subnets:
            raise NotFound("InvalidSubnetId.NotFound", f"subnet {subnet_id} does not exist")
        return self._subnets[subnet_id]

    def _instance(self, instance_id: InstanceId) -> tuple[Instance, EniLimits]:
        if instance_id not in self._instances:
            raise NotFound("InvalidInstanceId.NotFound", f"instance {instance_id} does not exist")
        return self._instances[instance_id]

    def _eni(self, eni_id: EniId) -> _EniRecord:
        if eni_id not in self._enis:
            raise NotFound("ResourceNotFound", f"ENI {eni_id} does not exist")
        return self._enis[eni_id]

    def _eip(self, eip_id: EipId) -> Eip:
        if eip_id not in self._eips:
            raise NotFound("InvalidAddressId.NotFound", f"EIP {eip_id} does not exist")
        return self._eips[eip_id]

    def _available(self, subnet_id: SubnetId) -> int:
        _, network = self._subnet(subnet_id)
        used = sum(1 for address in self._used if ipaddress.IPv4Address(address) in network)
        return max(0, network.num_addresses - 3 - used)  # network, gateway and broadcast are reserved

    def _free(self, subnet_id: SubnetId, count: int) -> list[str]:
        """The ``count`` lowest free addresses of the subnet, or ``SubnetExhausted``."""
        if count > self._available(subnet_id):
            raise SubnetExhausted("ResourceInsufficient.Subnet", f"subnet {subnet_id} has too few free IPs")
        _, network = self._subnet(subnet_id)
        free = (str(h) for h in itertools.islice(network.hosts(), 1, None) if str(h) not in self._used)
        return list(itertools.islice(free, count))

    def _take(self, record: _EniRecord, address: str) -> None:
        record.addresses[address] = None
        self._used[address] = record.eni.id

    def _ip_quota(self, record: _EniRecord) -> int:
        if record.eni.attachment is None:
            return UNATTACHED_IP_QUOTA
        return self._instance(record.eni.attachment.instance_id)[1].eni_private_ip_quantity

    def _new_eni(self, subnet: Subnet, *, name: str, groups: tuple[SecurityGroupId, ...],
                 tags: dict[str, str], primary: bool = False) -> _EniRecord:
        n = next(self._ids)
        (address,) = self._free(subnet.id, 1)
        mac = f"20:90:6f:00:{n // 256 % 256:02x}:{n % 256:02x}"
        eni = Eni(EniId(f"eni-{n:08d}"), mac, address, (), subnet.id, self.vpc_id, groups, None,
                  EniState.AVAILABLE, tags, subnet.zone, primary, name)
        record = _EniRecord(eni)
        self._take(record, address)
        self._enis[eni.id] = record
        return record

    def _view(self, eni_id: EniId) -> Eni:
        record = self._enis[eni_id]
        ips = tuple(PrivateIp(a, a == record.eni.primary_ip, IpState.AVAILABLE, eip)
                    for a, eip in record.addresses.items())
        return replace(record.eni, private_ips=ips)
