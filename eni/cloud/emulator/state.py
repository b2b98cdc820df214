"""The mutable cloud behind the emulator: subnets, instances, ENIs, IPs, EIPs and tasks, behind one lock.

Why one lock: every action reads and writes several records at once (an assign touches the ENI, its
subnet and the instance quota), and the real service is serialised per resource anyway; one
``threading.Lock`` keeps every invariant (no IP on two ENIs, quotas, MAC uniqueness) trivially true.
Actions run with ``state.lock`` held; ``settle`` returns the hook events of the tasks it commits, and
callers queue them for delivery outside the lock.

Asynchronous work (ENI create/attach/detach/delete, IP assign/unassign/migrate, EIP calls) is a
``Task``: the action reserves what it needs at once (IPs in PENDING, ENI in ATTACHING...) and
registers a ``commit`` and a ``rollback``; ``settle(now)`` later runs one of them when the task is due
(a task chosen to fail rolls back and reports FAILED). While a task runs, its ENIs are busy and a
second mutation gets ``UnsupportedOperation.MutexOperationTaskRunning``.

Records here are never handed out: ``snapshot()`` and the actions' replies are plain JSON copies.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, malformed, not_found
from .hooks import HookEvent
from .records import EipRecord, EniRecord, InstanceRecord, IpRecord, SubnetRecord, Task
from .world import InstanceSpec, SubnetSpec, World, is_valid_id

MAX_FINISHED_TASKS = 20_000
MAX_CLIENT_TOKENS = 50_000
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an action needs to know about the request it serves."""

    request_id: str


class CloudState:
    """Everything the emulated region holds. Callers hold ``lock`` around every method."""

    def __init__(
        self, world: World, *, task_delay: float, clock: Callable[[], float] = time.monotonic, seed: int | None = None
    ) -> None:
        self.lock = threading.Lock()
        self.world = world
        self.task_delay = task_delay
        self.clock = clock
        self.rng = random.Random(seed)
        # Decides, per task, whether it will end FAILED (the emulator wires in its fault plan).
        self.task_failure: Callable[[], bool] = lambda: False
        self.wake = threading.Event()  # set when a task is added, so the finisher re-plans
        self.load()

    def load(self) -> None:
        """(Re)build every record from the world; the caller holds ``lock`` (or owns the object)."""
        self.subnets: dict[str, SubnetRecord] = {}
        self.instances: dict[str, InstanceRecord] = {}
        self.enis: dict[str, EniRecord] = {}
        self.eips: dict[str, EipRecord] = {}
        self.tasks: OrderedDict[str, Task] = OrderedDict()
        self.running: dict[str, Task] = {}  # the RUNNING subset of tasks, so settling is cheap
        self.task_aliases: dict[str, str] = {}
        self.client_tokens: OrderedDict[tuple[str, str], tuple[dict[str, Any], str]] = OrderedDict()
        self.macs: set[str] = set()
        self.public_ips = (str(ip) for ip in ipaddress.IPv4Network("198.18.0.0/15").hosts())
        self.eip_task_seq = 100_000
        for spec in self.world.subnets:
            self._add_subnet(spec)
        for inst in self.world.instances:
            self.add_instance(inst)

    # ---- ids -----------------------------------------------------------------------------------

    def new_id(self, prefix: str, taken: Callable[[str], bool]) -> str:
        for _ in range(1000):
            candidate = prefix + "-" + "".join(self.rng.choice(ID_ALPHABET) for _ in range(8))
            if not taken(candidate):
                return candidate
        raise ApiError("InternalError", "id space exhausted")

    def new_mac(self) -> str:
        for _ in range(1000):
            tail = self.rng.getrandbits(24)
            mac = "20:90:6f:%02x:%02x:%02x" % (tail >> 16, (tail >> 8) & 0xFF, tail & 0xFF)
            if mac not in self.macs:
                self.macs.add(mac)
                return mac
        raise ApiError("InternalError", "MAC space exhausted")

    # ---- world -----------------------------------------------------------------------------------

    def _add_subnet(self, spec: SubnetSpec) -> None:
        net = ipaddress.IPv4Network(spec.cidr)
        # Tencent keeps the network address, the gateway (first host) and the broadcast address.
        reserved = frozenset({str(net.network_address), str(net.network_address + 1), str(net.broadcast_address)})
        self.subnets[spec.subnet_id] = SubnetRecord(
            spec, self.world.vpc_id, net, reserved, self.world.route_table_of(spec)
        )

    def add_instance(self, spec: InstanceSpec) -> InstanceRecord:
        """Create a CVM with its primary ENI and primary IP (world loading and the admin API)."""
        if spec.instance_id in self.instances:
            raise ApiError("InvalidParameterValue.Duplicate", f"The instance `{spec.instance_id}` already exists.")
        itype = self.world.instance_type(spec.instance_type)
        self.check_vpc_eni_quota()
        subnet_id = spec.subnet_id or self.world.subnets_in_zone(spec.zone)[0].subnet_id
        groups = list(spec.security_group_ids) or [self.world.security_groups[0].group_id]
        inst = InstanceRecord(spec.instance_id, itype, spec.zone, subnet_id, groups, spec.name or spec.instance_id)
        subnet = self.subnets[subnet_id]
        eni = self.new_eni(subnet, name="primary", groups=groups, tags={}, ips=subnet.free_addresses(1))
        eni.primary = True
        eni.instance_id = inst.instance_id
        eni.attach_time = eni.created_time
        inst.primary_eni_id = eni.eni_id
        self.instances[inst.instance_id] = inst
        return inst

    # ---- ENIs and IPs ------------------------------------------------------------------------------

    def new_eni(
        self, subnet: SubnetRecord, *, name: str, groups: list[str], tags: dict[str, str], ips: list[str]
    ) -> EniRecord:
        """Create an ENI record owning ``ips`` (the first one primary) in state AVAILABLE."""
        eni_id = self.new_id("eni", lambda c: c in self.enis)
        records = {ip: IpRecord(ip, primary=(i == 0)) for i, ip in enumerate(ips)}
        eni = EniRecord(
            eni_id, name, "", subnet.vpc_id, subnet.spec.subnet_id, subnet.spec.zone, self.new_mac(),
            primary=False, state="AVAILABLE", ips=records, groups=list(groups), tags=dict(tags),
        )
        for ip in ips:
            subnet.used[ip] = eni_id
        self.enis[eni_id] = eni
        return eni

    def drop_eni(self, eni: EniRecord) -> None:
        subnet = self.subnets[eni.subnet_id]
        for ip in eni.ips:
            subnet.used.pop(ip, None)
        self.macs.discard(eni.mac)
        self.enis.pop(eni.eni_id, None)

    def check_vpc_eni_quota(self) -> None:
        if len(self.enis) >= self.world.quotas.vpc_enis:
            raise ApiError("LimitExceeded.NetworkInterfaceLimitExceeded", "The VPC holds its maximum number of ENIs.")

    def eni(self, eni_id: object, param: str = "NetworkInterfaceId") -> EniRecord:
        if not is_valid_id(eni_id, "eni"):
            raise malformed(param, eni_id)
        assert isinstance(eni_id, str)
        found = self.enis.get(eni_id)
        if found is None:
            raise not_found("network interface", eni_id)
        return found

    def mutable_eni(self, eni_id: object, param: str = "NetworkInterfaceId") -> EniRecord:
        """An ENI that no task is working on (the real service's per-ENI mutex)."""
        eni = self.eni(eni_id, param)
        if eni.busy_task:
            raise ApiError(
                "UnsupportedOperation.MutexOperationTaskRunning",
                f"A task is running on `{eni.eni_id}`; retry when it has finished.",
            )
        return eni

    def instance(self, instance_id: object, param: str = "InstanceId") -> InstanceRecord:
        if not is_valid_id(instance_id, "ins"):
            raise ApiError("InvalidParameterValue.InstanceIdMalformed", f"`{instance_id}` is malformed.")
        assert isinstance(instance_id, str)
        found = self.instances.get(instance_id)
        if found is None:
            raise not_found("instance", instance_id)
        return found

    def subnet(self, subnet_id: object) -> SubnetRecord:
        if not is_valid_id(subnet_id, "subnet"):
            raise malformed("SubnetId", subnet_id)
        assert isinstance(subnet_id, str)
        found = self.subnets.get(subnet_id)
        if found is None:
            raise not_found("subnet", subnet_id)
        return found

    def check_groups(self, group_ids: list[str]) -> None:
        known = {g.group_id for g in self.world.security_groups}
        for gid in group_ids:
            if not is_valid_id(gid, "sg"):
                raise ApiError("InvalidSecurityGroupID.Malformed", f"The security group id `{gid}` is malformed.")
            if gid not in known:
                raise ApiError("InvalidSecurityGroupID.NotFound", f"The security group `{gid}` does not exist.")

    def enis_of(self, instance_id: str) -> Iterator[EniRecord]:
        return (e for e in self.enis.values() if e.instance_id == instance_id)

    def ip_limit(self, eni: EniRecord) -> int:
        """IPs the ENI may hold where it is now (attached: the instance type's quota)."""
        if not eni.instance_id:
            return self.world.quotas.unattached_eni_ips
        itype = self.instances[eni.instance_id].itype
        return itype.extend_ip_per_eni if eni.attach_type == 1 else itype.ip_per_eni

    def eip_on(self, eni_id: str, ip: str) -> EipRecord | None:
        return next((e for e in self.eips.values() if e.eni_id == eni_id and e.private_ip == ip), None)

    # ---- tasks -----------------------------------------------------------------------------------

    def start_task(
        self,
        ctx: CallContext,
        *,
        commit: Callable[[], list[HookEvent]],
        rollback: Callable[[], list[HookEvent]],
        enis: tuple[EniRecord, ...] = (),
        task_id: str = "",
    ) -> Task:
        """Register an asynchronous task (its id defaults to the request id) and mark its ENIs busy."""
        task = Task(task_id or ctx.request_id, self.clock() + self.task_delay, self.task_failure(), commit, rollback,
                    tuple(e.eni_id for e in enis))
        for eni in enis:
            eni.busy_task = task.task_id
        self.tasks[task.task_id] = task
        self.running[task.task_id] = task
        self.wake.set()
        return task

    def next_eip_task_id(self) -> str:
        self.eip_task_seq += 1
        return str(self.eip_task_seq)

    def task(self, task_id: str) -> Task | None:
        return self.tasks.get(self.task_aliases.get(task_id, task_id))

    def next_due(self) -> float | None:
        return min((t.due for t in self.running.values()), default=None)

    def settle(self, now: float) -> list[HookEvent]:
        """Finish every task due by ``now``; returns the hook events of the commits."""
        events: list[HookEvent] = []
        for task in sorted((t for t in self.running.values() if t.due <= now), key=lambda t: t.due):
            del self.running[task.task_id]
            for eni_id in task.eni_ids:
                if eni_id in self.enis and self.enis[eni_id].busy_task == task.task_id:
                    self.enis[eni_id].busy_task = ""
            if task.fail:
                task.rollback()
                task.status, task.output = "FAILED", "InternalError: the task failed in the backend"
            else:
                events.extend(task.commit())
                task.status, task.output = "SUCCESS", ""
        self._trim_tasks()
        return events

    def _trim_tasks(self) -> None:
        while len(self.tasks) > MAX_FINISHED_TASKS:
            oldest_id, oldest = next(iter(self.tasks.items()))
            if oldest.status == "RUNNING":
                break
            del self.tasks[oldest_id]
        if len(self.task_aliases) > MAX_FINISHED_TASKS:
            for alias in list(self.task_aliases)[: len(self.task_aliases) // 2]:
                del self.task_aliases[alias]

    # ---- idempotency -----------------------------------------------------------------------------------

    def replay(self, action: str, token: str, request_id: str) -> dict[str, Any] | None:
        """The stored reply of an earlier call with this ClientToken; its task answers to the new id."""
        stored = self.client_tokens.get((action, token))
        if stored is None:
            return None
        reply, task_id = stored
        if task_id:
            self.task_aliases[request_id] = task_id
        return dict(reply)

    def remember(self, action: str, token: str, reply: dict[str, Any], task_id: str) -> None:
        self.client_tokens[(action, token)] = (dict(reply), task_id)
        while len(self.client_tokens) > MAX_CLIENT_TOKENS:
            self.client_tokens.popitem(last=False)
