"""NodeReconciler: one node's NEC, ENIs and non-static IP pool, reconciled against the cloud.

Each pass, for node N (the Request's name):
1. Node gone or deleting -> ``teardown`` (detach and delete its ENIs, forget its IPs, delete its NEC).
2. NEC get-or-create; limits (cloud quota lowered by annotations) and warm targets (annotations over
   the flags) validated, an invalid value keeping the old one and raising a Warning Event.
3. Pending intents on the NEC are finished first (a restart resumes a create or assign in flight);
   VpcENIs in an interrupted phase are resumed.
4. The model: attached ENIs that ipamd records, with their recorded IPs, states from the NEC status.
5. Release handshake, ipamd's side. An IP leaves the node only this way:
   a. ipamd marks an idle Bound IP ``Releasing`` (NEC status and VpcIP) — never an IP the agent lists
      in ``inUseIPs``, and never one still listed in ``releasedIPs`` from an earlier round (the agent
      must first drop it, so every listing is a fresh confirmation about this round);
   b. the agent stops handing it out and, if no pod holds it, lists it in ``releasedIPs``;
   c. ipamd unassigns only IPs that are Releasing in the NEC it just read *and* in ``releasedIPs`` of
      that same object *and* not in ``inUseIPs``, then deletes their VpcIPs.
   Releasing goes back to Bound only in static mode, when a claim's pod returns to the node
   (``eni.controllers.static``); the agent's promise ends when it sees Bound, and a new round is
   published only once its earlier listing is gone, so a confirmation never refers to an IP the agent
   could hand out again; the state lives in the NEC, so restarts on either side keep it.
6. Sizing (``sizing.pool_change``) and the "fewest ENIs" plan (``planner``): assign, create and
   attach ENIs, mark releases, remove empty ENIs no pod's primary IP needs. In static-IP mode the
   claims' pass (``eni.controllers.static.nodepass``) replaces sizing: IPs per pod claim, each
   published with the pod it is reserved for; claimed IPs are never unassigned by step 5c.
   Exclusive ENIs (``type: direct``) go through their own pass first (``eni.controllers.directeni``):
   a warm pool of free ENIs (non-static) or an ENI per direct-ENI pod (static), with the same handshake
   on ``inUseENIs``/``releasedENIs``; their entries are rendered into the same status write.
7. Security groups kept equal to the NEC's ordered list; the NEC status written when it changed; the
   Node's route-eni-subnet-ids label and, with ``--enable-node-taint``, ipamd's NoSchedule taint while
   the node has no free IP and cannot get one (``nodefacts``). The Node annotation
   desired-route-eni-pod-num raises the pool's window to a floor (``desired``).
Cloud errors become waits: retryable ones are raised (the queue backs off), a quota error blocks
growth of that node until its limits change, an exhausted subnet is skipped for a while.
The reconciler must never unassign an IP outside the handshake on a live node.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    Condition,
    ConditionStatus,
    NodeENIConfig,
    PodRef,
    VpcIPPhase,
    ipamd_status_patch,
)
from eni.api.v1.constants import WarmTargets
from eni.api.v1.errors import DecodeError
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import InstanceId, Subnet, SubnetId
from eni.controllers import events
from eni.controllers.directeni.context import DirectContext, DirectOutcome, export_direct
from eni.controllers.directeni.create import DirectCreator
from eni.controllers.directeni.keep import KeptEnis
from eni.controllers.directeni.model import DirectEni, render_direct
from eni.controllers.directeni.pool import DirectPool
from eni.controllers.directeni.static import StaticDirectPass
from eni.controllers.eni.ips import IpLifecycle
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls, IpamdMetrics
from eni.controllers.nec.keeper import NecKeeper
from eni.controllers.nec.limits import InUse, NodeLimits, cloud_limits, effective_limits, effective_warm_targets
from eni.controllers.nec.providerid import ProviderIdError, parse_provider_id
from eni.controllers.securitygroups.sync import SecurityGroupSync
from eni.controllers.static.moves import StaticIps
from eni.controllers.static.nodepass import NodeContext, StaticNodePass
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client, Reader
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import NODE, ObjectKey
from eni.runtime.reconcile import Request, Result, TerminalError

from .config import PoolConfig
from .desired import desired_floor
from .growth import GrowthMemory, PoolGrowth
from .model import WorkingEni, render_status
from .nodecondition import report_node_condition
from .nodefacts import publish_node_facts
from .observe import observe, resume_intents
from .planner import choose_releases, removable_enis
from .pods import count_ip_pods
from .sizing import PoolFigures, pool_change, window
from .teardown import teardown


@dataclass
class _NodeMemory(GrowthMemory):
    """What ipamd remembers of a node between passes (lost on restart, which only delays things)."""

    last_release: float | None = None
    warm: WarmTargets | None = None
    reported: frozenset[str] = frozenset()
    cap_reported: bool = False


class NodeReconciler:
    """Reconciles the Node named by each Request; see the module docstring."""

    def __init__(
        self, *, client: Client, reader: Reader, vpc: VpcApi, config: PoolConfig, recorder: EventRecorder,
        metrics: IpamdMetrics, clock: Clock = REAL_CLOCK,
    ) -> None:
        self._client = client
        self._reader = reader
        self._vpc = vpc
        self._config = config
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock
        self._calls = CloudCalls(metrics)
        self._records = Records(client)
        self._enis = EniLifecycle(vpc, self._records, self._calls)
        self._ips = IpLifecycle(vpc, self._records, self._calls)
        self._necs = NecKeeper(client, vpc, self._calls, subnet_ids=config.subnet_ids,
                               security_group_ids=config.security_group_ids, clock=clock)
        self._sgs = SecurityGroupSync(vpc, self._calls, enabled=config.security_groups_enabled)
        self._memory: dict[str, _NodeMemory] = {}
        self._subnets: dict[str, Subnet] = {}
        self._lock = threading.Lock()
        self._static = None if config.static is None else StaticNodePass(
            client=client, reader=reader, records=self._records, enis=self._enis, necs=self._necs,
            static_ips=StaticIps(vpc, self._records, self._ips, self._calls), recorder=recorder, clock=clock,
            config=config.static)
        creator = DirectCreator(vpc=vpc, enis=self._enis, clock=clock,
                                subnet_exhausted_backoff=config.subnet_exhausted_backoff)
        self._kept = KeptEnis(vpc=vpc, records=self._records, enis=self._enis)
        self._direct: DirectPool | StaticDirectPass = DirectPool(
            reader=reader, enis=self._enis, creator=creator, necs=self._necs, recorder=recorder,
            warm=config.eni_warm, kept=self._kept, clock=clock) if config.static is None else StaticDirectPass(
            reader=reader, vpc=vpc, calls=self._calls, records=self._records, enis=self._enis, creator=creator,
            necs=self._necs, recorder=recorder, clock=clock, config=config.static,
            enable_ownerref=config.enable_ownerref)
        self._growth = PoolGrowth(vpc=vpc, calls=self._calls, ips=self._ips, enis=self._enis, necs=self._necs,
                                  recorder=recorder, clock=clock, known_subnets=self._subnets,
                                  subnet_exhausted_backoff=config.subnet_exhausted_backoff)

    # ---- entry ----------------------------------------------------------------------------------

    def reconcile(self, request: Request) -> Result:
        started = self._clock.monotonic()
        try:
            return self._reconcile(request.name)
        finally:
            self._metrics.reconcile_seconds.observe(self._clock.monotonic() - started)

    def _reconcile(self, name: str) -> Result:
        node = self._node(name)
        if node is None or (node.get("metadata") or {}).get("deletionTimestamp"):
            teardown(name, records=self._records, enis=self._enis, client=self._client, now=self._clock.now(),
                     kept=self._kept if self._static is not None else None)
            self._metrics.forget_node(name)
            self._direct.forget(name)
            with self._lock:
                self._memory.pop(name, None)
            return Result()
        try:
            where = parse_provider_id(str((node.get("spec") or {}).get("providerID") or ""))
        except ProviderIdError as e:
            self._recorder.event(node, reason=events.INVALID_PROVIDER_ID, message=str(e), type="Warning",
                                 kind=NODE)
            self._publish_node(node, None, unavailable=True)  # no NEC, no IP until the providerID is right
            raise TerminalError(e) from e
        try:
            found = self._necs.get(name) or self._necs.create(name, where)
        except DecodeError as e:  # a hand-edited NEC ipamd cannot read: say so, do not retry in a loop
            self._recorder.event(node, reason=events.INVALID_NEC, message=str(e), type="Warning", kind=NODE)
            self._publish_node(node, None, unavailable=True)
            raise TerminalError(e) from e
        nec, raw = found
        memory = self._node_memory(name)
        return self._reconcile_pool(name, node, nec, raw, memory)

    def _node(self, name: str) -> Mapping[str, Any] | None:
        """The Node from the cache; a miss is confirmed with a live read, as it leads to a teardown."""
        key = ObjectKey(namespace="", name=name)
        try:
            return self._reader.get(NODE, key)
        except NotFoundError:
            pass
        try:
            return self._client.get(NODE, key)
        except NotFoundError:
            return None

    def _node_memory(self, name: str) -> _NodeMemory:
        with self._lock:
            return self._memory.setdefault(name, _NodeMemory())

    # ---- the pool -------------------------------------------------------------------------------

    def _reconcile_pool(
        self, name: str, node: Mapping[str, Any], nec: NodeENIConfig, raw: Mapping[str, Any], memory: _NodeMemory,
    ) -> Result:
        instance_id = nec.spec.instance_id
        annotations: dict[str, str] = dict((raw.get("metadata") or {}).get("annotations") or {})
        resume_intents(name, nec, annotations, vpc=self._vpc, enis=self._enis, ips=self._ips,
                       security_groups=self._sgs.desired(nec, None))
        observed = observe(name, nec, records=self._records, vpc=self._vpc, calls=self._calls, enis=self._enis)
        work = observed.work
        if self._static is None:  # their unassign took effect; its reply was lost (static: the pass decides)
            self._records.forget_records(observed.left)
        agent = nec.status.agent
        reported = agent.heartbeat_time is not None
        used = set(agent.in_use_ips)
        pods = len(used) if reported else count_ip_pods(self._reader, name)

        limits = self._limits(name, nec, annotations, work, used, direct_in_use=set(agent.in_use_enis))
        direct = DirectContext(name=name, node_obj=node, nec=nec, annotations=annotations, direct=observed.direct,
                               limits=limits, security_groups=self._sgs.desired(nec, node),
                               in_use=set(agent.in_use_enis), released=set(agent.released_enis), reported=reported,
                               keeping=observed.keeping)
        direct_outcome = self._direct.run(direct)
        if self._static is not None:
            return self._reconcile_static(self._static, NodeContext(
                name=name, node_obj=node, nec=nec, annotations=annotations, work=work, limits=limits,
                security_groups=self._sgs.desired(nec, node), used=used, released=set(agent.released_ips),
                left=observed.left),
                raw, reported=reported, direct=direct, direct_outcome=direct_outcome)
        warm, problem = effective_warm_targets(self._config.ip_warm, annotations, previous=memory.warm)
        memory.warm = warm
        self._report_problems(name, nec, [problem] if problem else [], memory)
        floor, floor_problem = desired_floor(node)
        self._report_problems(name, nec, [floor_problem] if floor_problem else [], memory, kind="desired",
                              about=node)

        self._finish_releases(work, released=set(agent.released_ips), used=used)
        bound = [ip for w in work.values() for ip in w.bound]
        idle = sum(1 for ip in bound if ip not in used) if reported else max(0, len(bound) - pods)
        now = self._clock.monotonic()
        if memory.last_release is None:
            memory.last_release = now
        tick_due = now - memory.last_release >= self._config.release_interval
        change = pool_change(PoolFigures(pods=pods, bound=len(bound), idle=idle, cap=limits.ip_cap), warm=warm,
                             quick_release=self._config.quick_release, tick_due=tick_due, floor=floor)
        conditions: list[Condition] = []
        if change.release:
            self._mark_releases(work, change.release, used=used, released=set(agent.released_ips))
            if tick_due:
                memory.last_release = now
        short = 0
        if change.assign:
            short = self._growth.grow(name, nec, annotations, work, change.assign, limits=limits, used=used,
                                      memory=memory, security_groups=self._sgs.desired(nec, node),
                                      node_obj=node)
            if short:
                conditions.append(Condition(type=events.CONDITION_ENI_LIMIT_REACHED, status=ConditionStatus.TRUE,
                                            reason=events.ENI_LIMIT,
                                            message=f"{short} more IPs wanted; the node's ENIs and subnets are full"))
        capped = pods + warm.min > limits.ip_cap
        if capped and not short:
            message = f"{pods} pods + {warm.min} warm IPs exceed the node's cap of {limits.ip_cap} IPs"
            conditions.append(Condition(type=events.CONDITION_ENI_LIMIT_REACHED, status=ConditionStatus.TRUE,
                                        reason=events.ENI_LIMIT, message=message))
            if not memory.cap_reported:
                self._recorder.event(raw, reason=events.ENI_LIMIT, type="Warning", message=message,
                                     kind=NODE_ENI_CONFIG)
                self._recorder.event(node, reason=events.ENI_LIMIT, type="Warning", message=message, kind=NODE)
        memory.cap_reported = capped
        if not change.assign and reported:
            for eni_id in removable_enis([w.slot() for w in work.values()], used=used, ips_needed=0):
                self._enis.remove(eni_id, instance_id)
                self._recorder.event(raw, reason=events.ENI_DELETED, message=f"deleted empty ENI {eni_id}",
                                     kind=NODE_ENI_CONFIG)
                work.pop(eni_id)
        conditions = direct_outcome.with_condition(conditions)
        self._sgs.sync(nec, node, [w.eni for w in work.values()] + [d.eni for d in direct.direct.values()],
                       recorder=self._recorder, raw_nec=raw)
        bound_now = [ip for w in work.values() for ip in w.bound]
        no_free_ip = all(ip in used for ip in bound_now)
        blocked = bool(short) or capped or len(bound_now) < window(pods=pods, warm=warm, cap=limits.ip_cap,
                                                                   floor=floor)[0]
        self._publish_node(node, work, unavailable=no_free_ip and blocked)
        if self._config.node_condition:
            report_node_condition(self._client, node, limited=bool(conditions),
                                  message=conditions[0].message if conditions else "", now=self._clock.now())
        self._write_status(nec, work, conditions, direct=direct.direct.values())
        self._export(name, work, used, direct)
        if change.surplus_waiting:
            wait = max(0.05, memory.last_release + self._config.release_interval - self._clock.monotonic())
            return Result(requeue_after=min(wait, self._config.resync_interval))
        return Result(requeue_after=self._config.resync_interval)

    def _reconcile_static(self, static: StaticNodePass, ctx: NodeContext, raw: Mapping[str, Any], *,
                          reported: bool, direct: DirectContext, direct_outcome: DirectOutcome) -> Result:
        """Static-IP mode: claimed IPs per pod instead of the warm pool (``eni.controllers.static``)."""
        outcome = static.run(ctx)
        self._finish_releases(ctx.work, released=ctx.released, used=ctx.used, keep=set(outcome.reservations))
        conditions: list[Condition] = []
        if outcome.unserved:
            conditions.append(Condition(type=events.CONDITION_ENI_LIMIT_REACHED, status=ConditionStatus.TRUE,
                                        reason=events.ENI_LIMIT,
                                        message=f"{outcome.unserved} pods wait for an IP the node cannot get"))
        conditions = direct_outcome.with_condition(conditions)
        if reported and not outcome.waiting:
            for eni_id in removable_enis([w.slot() for w in ctx.work.values()], used=ctx.used, ips_needed=0):
                self._enis.remove(eni_id, ctx.nec.spec.instance_id)
                self._recorder.event(raw, reason=events.ENI_DELETED, message=f"deleted empty ENI {eni_id}",
                                     kind=NODE_ENI_CONFIG)
                ctx.work.pop(eni_id)
        self._sgs.sync(ctx.nec, ctx.node_obj, [w.eni for w in ctx.work.values()] + [
            d.eni for d in direct.direct.values()], recorder=self._recorder, raw_nec=raw)
        self._publish_node(ctx.node_obj, ctx.work, unavailable=outcome.eni_limit)
        if self._config.node_condition:
            report_node_condition(self._client, ctx.node_obj, limited=bool(conditions),
                                  message=conditions[0].message if conditions else "", now=self._clock.now())
        self._write_status(ctx.nec, ctx.work, conditions, reservations=outcome.reservations,
                           direct=direct.direct.values())
        self._export(ctx.name, ctx.work, ctx.used, direct)
        if (outcome.waiting or direct_outcome.waiting) and self._config.static is not None:
            return Result(requeue_after=self._config.static.wait_interval)
        return Result(requeue_after=self._config.resync_interval)

    def _limits(
        self, name: str, nec: NodeENIConfig, annotations: Mapping[str, str], work: Mapping[str, WorkingEni],
        used: set[str], *, direct_in_use: set[str],
    ) -> NodeLimits:
        quota = cloud_limits(self._calls.call("DescribeNetworkInterfaceLimit", lambda: self._vpc.describe_eni_limits(
            InstanceId(nec.spec.instance_id))))
        in_use = InUse(
            enis=sum(1 for w in work.values() if any(ip in used for ip in w.bound) or w.eni.primary_ip in used),
            ips_on_one_eni=max((sum(1 for ip in w.bound if ip in used) for w in work.values()), default=0),
            direct_enis=len(direct_in_use))
        previous = NodeLimits(nec.spec.max_eni, nec.spec.max_ip_per_eni, nec.spec.max_direct_eni) \
            if nec.spec.max_eni or nec.spec.max_ip_per_eni else None
        limits, problems = effective_limits(quota, annotations, in_use=in_use, previous=previous)
        self._report_problems(name, nec, problems, self._node_memory(name), kind="limits")
        self._necs.update_limits(nec, limits)
        return limits

    def _report_problems(
        self, name: str, nec: NodeENIConfig, problems: list[str], memory: _NodeMemory, *, kind: str = "warm",
        about: Mapping[str, Any] | None = None,
    ) -> None:
        """A Warning Event for each new problem, on the NEC or, when ``about`` is given, on that Node."""
        tagged = frozenset(f"{kind}:{p}" for p in problems)
        mine = frozenset(p for p in memory.reported if p.startswith(f"{kind}:"))
        for problem in sorted(tagged - mine):
            outcome = "the previous value stays in force" if about is None else "it is ignored"
            self._recorder.event(nec.to_dict() if about is None else about, reason=events.INVALID_ANNOTATION,
                                 type="Warning", message=f"{problem.split(':', 1)[1]}; {outcome}",
                                 kind=NODE_ENI_CONFIG if about is None else NODE)
        memory.reported = (memory.reported - mine) | tagged

    # ---- handshake ------------------------------------------------------------------------------

    def _finish_releases(self, work: Mapping[str, WorkingEni], *, released: set[str], used: set[str],
                         keep: Collection[str] = ()) -> None:
        """Unassign what the agent confirmed; static mode ``keep``s claimed IPs (they move, not go)."""
        for w in work.values():
            confirmed = [ip for ip in w.releasing if ip in released and ip not in used and ip not in keep]
            if confirmed:
                self._ips.unassign(w.eni_id, confirmed)
                w.drop(confirmed)

    def _mark_releases(self, work: Mapping[str, WorkingEni], count: int, *, used: set[str],
                       released: set[str]) -> None:
        slots = [w.slot() for w in work.values()]
        for address in choose_releases(slots, count, used=used | released):
            self._records.set_ip_phase(address, VpcIPPhase.RELEASING)
            for w in work.values():
                w.mark_releasing(address)

    # ---- publishing -----------------------------------------------------------------------------

    def _publish_node(self, node: Mapping[str, Any], work: Mapping[str, WorkingEni] | None, *,
                      unavailable: bool) -> None:
        """The Node's subnets label (left alone without a model, ``work`` None); ipamd's taint only with the
        flag on (off: a taint it left is removed)."""
        publish_node_facts(self._client, node, tainted=self._config.node_taint and unavailable, recorder=self._recorder,
                           subnet_ids=None if work is None else [w.eni.subnet_id for w in work.values()])

    def _write_status(self, nec: NodeENIConfig, work: Mapping[str, WorkingEni], conditions: list[Condition], *,
                      reservations: Mapping[str, PodRef] | None = None, direct: Collection[DirectEni] = ()) -> None:
        for subnet_id in {w.eni.subnet_id for w in work.values()} | {d.eni.subnet_id for d in direct}:
            if subnet_id not in self._subnets:
                for subnet in self._vpc.describe_subnets([SubnetId(subnet_id)]):
                    self._subnets[subnet.id] = subnet
        enis = tuple(sorted(render_status(work.values(), self._subnets, reservations)
                            + render_direct(direct, self._subnets), key=lambda e: (e.device_index, e.eni_id)))
        if enis == nec.status.enis and tuple(conditions) == nec.status.conditions:
            return
        self._client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name=nec.name),
                           ipamd_status_patch(enis=enis, conditions=conditions), subresource="status")

    def _export(self, name: str, work: Mapping[str, WorkingEni], used: set[str], direct: DirectContext) -> None:
        export_direct(self._metrics, direct)
        bound = [ip for w in work.values() for ip in w.bound]
        self._metrics.bound_ips.labels(name).set(len(bound))
        self._metrics.used_ips.labels(name).set(len(used))
        self._metrics.idle_ips.labels(name).set(sum(1 for ip in bound if ip not in used))
        self._metrics.releasing_ips.labels(name).set(sum(len(w.releasing) for w in work.values()))
        self._metrics.enis.labels(name).set(len(work))
