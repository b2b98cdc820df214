"""Growing a node's pool: assign to the fullest-in-use ENI, create ENIs only when those are full.

``PoolGrowth.grow`` runs a bounded number of rounds; each round either assigns IPs on the ENI the
planner picks, or rules a target out (an exhausted subnet is skipped for a while), or creates and
attaches a new ENI in the zone's subnet with most free IPs. A quota error ends growth for the node
until its limits change (``GrowthMemory.quota_blocked``), so a refused node makes no call storm.
Cloud calls go only through the ENI and IP lifecycles, which record intents first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from eni.api.v1 import NODE_ENI_CONFIG, NodeENIConfig
from eni.cloud.errors import QuotaExceeded, SubnetExhausted
from eni.cloud.interfaces import MAX_IPS_PER_CALL, VpcApi
from eni.cloud.types import EniAttachment, InstanceId, Subnet
from eni.controllers import events
from eni.controllers.eni.ips import IpLifecycle
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.intents import ANNOTATION_INTENT_SEQ
from eni.controllers.nec.keeper import NecKeeper
from eni.controllers.nec.limits import NodeLimits
from eni.runtime.clock import Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import NODE

from .model import WorkingEni
from .planner import SubnetChoice, choose_subnet, plan_assignments

UNATTACHED_ENI_IPS = MAX_IPS_PER_CALL - 1
"""Secondary IPs a new ENI is created with at most: an ENI not yet attached holds 10 private IPs, its
primary included. Creating the first IPs with the ENI saves a whole assign task on a new node."""

MAX_GROW_ROUNDS = 8
"""Bound on assign/create attempts in one pass (each round either assigns or rules a target out)."""


@dataclass
class GrowthMemory:
    quota_blocked: NodeLimits | None = None
    """The limits under which the cloud refused more; growth waits until they change."""


@dataclass
class _Pass:
    node: str
    nec: NodeENIConfig
    annotations: dict[str, str]
    work: dict[str, WorkingEni]
    limits: NodeLimits
    memory: GrowthMemory
    security_groups: tuple[str, ...]
    node_obj: Mapping[str, Any]
    subnets: list[Subnet] = field(default_factory=list)
    created: bool = False


class PoolGrowth:
    def __init__(
        self, *, vpc: VpcApi, calls: CloudCalls, ips: IpLifecycle, enis: EniLifecycle, necs: NecKeeper,
        recorder: EventRecorder, clock: Clock, subnet_exhausted_backoff: float, known_subnets: dict[str, Subnet],
    ) -> None:
        self._vpc = vpc
        self._calls = calls
        self._ips = ips
        self._enis = enis
        self._necs = necs
        self._recorder = recorder
        self._clock = clock
        self._backoff = subnet_exhausted_backoff
        self._known_subnets = known_subnets
        self._exhausted: dict[str, float] = {}
        self._lock = threading.Lock()

    def grow(
        self, node: str, nec: NodeENIConfig, annotations: dict[str, str], work: dict[str, WorkingEni], need: int, *,
        limits: NodeLimits, used: set[str], memory: GrowthMemory, security_groups: tuple[str, ...],
        node_obj: Mapping[str, Any],
    ) -> int:
        """Assign up to ``need`` IPs, creating ENIs as the rules allow; returns how many could not be had."""
        if memory.quota_blocked == limits:
            return need
        memory.quota_blocked = None
        state = _Pass(node, nec, annotations, work, limits, memory, security_groups, node_obj)
        try:
            return self._rounds(state, need, used)
        finally:
            if state.created:
                self._refresh(nec.spec.instance_id, work)

    def _rounds(self, state: _Pass, need: int, used: set[str]) -> int:
        limits = state.limits
        for _ in range(MAX_GROW_ROUNDS):
            if need <= 0:
                return 0
            plan, _rest = plan_assignments([w.slot() for w in state.work.values()], need,
                                           max_ips_per_eni=limits.max_ip_per_eni, used=used,
                                           exhausted_subnets=self.exhausted_now())
            if plan:
                target = state.work[plan[0].eni_id]
                added = self._guarded(state, target.eni.subnet_id, partial(self._assign, state, target, plan[0].count))
                if added is None:
                    if state.memory.quota_blocked is not None:
                        return need
                    continue
                target.bound.extend(added)
                need -= len(added)
                continue
            if len(state.work) >= limits.max_eni:
                self._quota(state, f"all {limits.max_eni} ENIs of the node hold {limits.max_ip_per_eni} IPs each")
                return need
            added = self._add_eni(state, min(need, limits.max_ip_per_eni, UNATTACHED_ENI_IPS))
            if added is None:
                return need
            need -= added
        return need

    def _assign(self, state: _Pass, target: WorkingEni, count: int) -> list[str]:
        return self._ips.assign(node=state.node, nec_uid=state.nec.metadata.uid, annotations=state.annotations,
                                eni_id=target.eni_id, subnet_id=target.eni.subnet_id, count=count)

    def _guarded(self, state: _Pass, subnet_id: str, call: Callable[[], Any]) -> Any:
        """Run a growth call; None after a subnet-exhausted or quota refusal (recorded)."""
        try:
            return call()
        except SubnetExhausted as e:
            self._subnet_exhausted(subnet_id, state, str(e))
            return None
        except QuotaExceeded as e:
            self._quota(state, str(e))
            return None
        finally:
            bump_seq(state.annotations)

    def _add_eni(self, state: _Pass, ip_count: int) -> int | None:
        """A new ENI created with ``ip_count`` IPs; how many it brought, None when growth must stop."""
        nec = state.nec
        if not state.subnets:
            state.subnets = self._necs.zone_subnets(nec.spec.zone)
            for subnet in state.subnets:
                self._known_subnets[subnet.id] = subnet
        subnet_id = choose_subnet([SubnetChoice(s.id, s.available_ip_count) for s in state.subnets],
                                  exhausted=self.exhausted_now())
        if subnet_id is None:
            self._warn(state, events.SUBNET_EXHAUSTED, f"no subnet of zone {nec.spec.zone} has a free IP")
            return None
        def create(count: int) -> Any:
            return self._enis.create_and_attach(
                node=state.node, nec_uid=nec.metadata.uid, annotations=state.annotations,
                instance_id=nec.spec.instance_id, subnet_id=subnet_id, security_groups=state.security_groups,
                ip_count=count)

        def create_with_ips() -> Any:
            try:
                return create(ip_count)
            except QuotaExceeded:
                if not ip_count:
                    raise
                bump_seq(state.annotations)  # that attempt took an intent
                return create(0)  # the unattached ENI's own IP quota said no: IPs come after the attach

        eni = self._guarded(state, subnet_id, create_with_ips)
        if eni is None:
            return 0 if state.memory.quota_blocked is None else None
        self._recorder.event(nec.to_dict(), reason=events.ENI_CREATED, kind=NODE_ENI_CONFIG,
                             message=f"created ENI {eni.id} in {subnet_id}")
        # The attachment's device index is read back once per pass (``_refresh``), not per ENI.
        brought = [ip.address for ip in eni.secondary_ips]
        state.work[eni.id] = WorkingEni(eni=replace(eni, attachment=EniAttachment(InstanceId(nec.spec.instance_id),
                                                                                  0)), bound=brought)
        state.created = True
        return len(brought)

    def _refresh(self, instance_id: str, work: dict[str, WorkingEni]) -> None:
        described = self._calls.call("DescribeNetworkInterfaces",
                                     lambda: self._vpc.describe_enis(instance_id=InstanceId(instance_id)))
        for eni in described:
            if eni.id in work:
                work[eni.id].eni = eni

    def exhausted_now(self) -> set[str]:
        now = self._clock.monotonic()
        with self._lock:
            return {s for s, until in self._exhausted.items() if until > now}

    def _subnet_exhausted(self, subnet_id: str, state: _Pass, message: str) -> None:
        with self._lock:
            self._exhausted[subnet_id] = self._clock.monotonic() + self._backoff
        self._warn(state, events.SUBNET_EXHAUSTED, f"subnet {subnet_id}: {message}")

    def _quota(self, state: _Pass, message: str) -> None:
        state.memory.quota_blocked = state.limits
        self._warn(state, events.ENI_LIMIT, message)

    def _warn(self, state: _Pass, reason: str, message: str) -> None:
        """A Warning Event on both the NEC and the Node."""
        self._recorder.event(state.nec.to_dict(), reason=reason, type="Warning", message=message,
                             kind=NODE_ENI_CONFIG)
        self._recorder.event(state.node_obj, reason=reason, type="Warning", message=message, kind=NODE)


def bump_seq(annotations: dict[str, str]) -> None:
    """Keep the local copy of the intent counter in step with the NEC (one intent per cloud call)."""
    try:
        annotations[ANNOTATION_INTENT_SEQ] = str(int(annotations.get(ANNOTATION_INTENT_SEQ, "0")) + 1)
    except ValueError:
        annotations[ANNOTATION_INTENT_SEQ] = "1"
