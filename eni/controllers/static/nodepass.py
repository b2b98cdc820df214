"""One node's static-IP pass: every live claimed pod of the node gets its claim's IP on an ENI here.

Per pass, for node N (called by ``NodeReconciler`` in static mode instead of the warm-pool sizing):
0. A Releasing record gone from its ENI here (its unassign's reply was lost) is forgotten, unless a live claim owns it.
1. Each IP recorded on N is kept — reserved for its claim's pod (``pod`` in the NEC status) — while its claim
   exists, is not being deleted and its pod is not live elsewhere; else it is marked Releasing (never while the
   agent lists it in use), and the agent's confirmation lets the handshake unassign it or the pod's node move it
   (``keeping``).
2. Each live pod on N whose claim is adopted (``spec.podUID``) gets its IP:
   - already here and Bound: nothing to do;
   - Releasing here (it left this node for another pod of the name, which went before the move): the release
     is cancelled, the IP Bound again for the pod, with no cloud call; a claim being deleted lets it finish;
   - on another node M: marked Releasing there; once M's agent confirms it (Releasing, in ``releasedIPs``, not in
     ``inUseIPs`` of M's NEC), it is moved with MigratePrivateIpAddress to N's ENI in the IP's subnet (created if
     needed); an IP outside N's zone gets a Warning Event;
   - none yet: the nominated address, or new IPs on the ENI with most IPs in use in a subnet the claim may use
     (fewer per call when the subnet runs low); a new ENI in the freest such subnet only when those are full.
A pod whose IP cannot be served gets a Warning Event with the reason (``eni_limit``: the node's ENI limit). A
VpcIP names its claim, and a claim only takes an address whose record it owns or creates: never two claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    VPC_IP_CLAIM,
    ClaimPhase,
    IPState,
    NodeENIConfig,
    PodRef,
    VpcIP,
    VpcIPClaim,
    VpcIPPhase,
)
from eni.api.v1.errors import DecodeError
from eni.cloud.errors import CloudError, QuotaExceeded, SubnetExhausted
from eni.cloud.types import Subnet
from eni.controllers import events
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records
from eni.controllers.nec.keeper import NecKeeper
from eni.controllers.nec.limits import NodeLimits
from eni.controllers.nodepool.growth import bump_seq
from eni.controllers.nodepool.model import WorkingEni
from eni.controllers.nodepool.planner import SubnetChoice, choose_subnet, plan_assignments
from eni.controllers.nominations import reserved_subnets
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client, Reader
from eni.runtime.clock import Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import POD, ObjectKey

from .config import StaticConfig
from .keeping import KeepOrRelease
from .locate import eni_holding, eni_in_cloud_holding, just_attached, subnet_holding
from .moves import AddressTaken, StaticIps, owned_by
from .podview import PodView, is_live, wants_static_ip
from .writer import VpcIPClaimWriter, decode_claim


@dataclass
class NodeContext:
    """What the pass works on; ``work`` is changed in place and rendered by the caller."""

    name: str
    node_obj: Mapping[str, Any]
    nec: NodeENIConfig
    annotations: dict[str, str]
    work: dict[str, WorkingEni]
    limits: NodeLimits
    security_groups: tuple[str, ...]
    used: set[str]
    released: set[str]
    subnets: dict[str, Subnet] = field(default_factory=dict)
    reserved_subnets: frozenset[str] | None = None
    left: list[VpcIP] = field(default_factory=list)  # Releasing, yet gone from their ENI here (``observe``)


@dataclass
class PassOutcome:
    reservations: dict[str, PodRef] = field(default_factory=dict)
    waiting: bool = False
    unserved: int = 0
    eni_limit: bool = False  # a pod waits for an ENI the node may not get: node-wide, unlike other reasons


class StaticNodePass:
    def __init__(self, *, client: Client, reader: Reader, records: Records, enis: EniLifecycle,
                 necs: NecKeeper, static_ips: StaticIps, recorder: EventRecorder, clock: Clock,
                 config: StaticConfig) -> None:
        self._client = client
        self._reader = reader
        self._records = records
        self._enis = enis
        self._necs = necs
        self._static = static_ips
        self._recorder = recorder
        self._clock = clock
        self._config = config
        self._claims = VpcIPClaimWriter(client)
        self._exhausted: dict[str, float] = {}
        self._keeping = KeepOrRelease(reader=reader, records=records, claim_of=self._claim)

    def run(self, ctx: NodeContext) -> PassOutcome:
        ctx.subnets = {s.id: s for s in self._necs.zone_subnets(ctx.nec.spec.zone)}
        out = PassOutcome()
        self._static.forget_released(ctx.left, self._claim)
        recorded = {ip.name: ip for ip in self._records.ips_of(ctx.name)}
        pods = {(v.namespace, v.name): v for v in self._live_pods(ctx.name)}
        out.waiting |= self._keeping.run(node=ctx.name, work=ctx.work, recorded=recorded, pods=pods,
                                         published=set(ctx.nec.status.ips_in_state(IPState.RELEASING)),
                                         used=ctx.used, released=ctx.released, reservations=out.reservations)
        new: list[tuple[VpcIPClaim, PodView]] = []
        for view in pods.values():
            claim = self._claim(view.namespace, view.name)
            if claim is None or claim.spec.pod_uid != view.uid:
                continue  # the claim reconciler creates or adopts it first
            self._serve(ctx, claim, view, recorded, out, new)
        self._assign_new(ctx, new, out)
        return out

    def _live_pods(self, node: str) -> list[PodView]:
        pods = self._reader.list(POD, field_selector=f"spec.nodeName={node}")
        return [PodView.of(p) for p in pods if wants_static_ip(p) and is_live(p)]

    def _claim(self, namespace: str, name: str) -> VpcIPClaim | None:
        try:
            return decode_claim(self._reader.get(VPC_IP_CLAIM, ObjectKey(namespace, name)))
        except NotFoundError:
            return None

    # ---- one claimed pod ------------------------------------------------------------------------

    def _serve(self, ctx: NodeContext, claim: VpcIPClaim, view: PodView, recorded: Mapping[str, VpcIP],
               out: PassOutcome, new: list[tuple[VpcIPClaim, PodView]]) -> None:
        address = claim.status.ip or next((a for a, v in recorded.items() if owned_by(v, claim)), "")
        if not address:
            if claim.metadata.deletion_timestamp is not None:
                return  # a claim being deleted gets no new IP
            if claim.spec.nominated_ip:
                self._place_address(ctx, claim, view, claim.spec.nominated_ip, None, out)
            else:
                new.append((claim, view))
            return
        here = eni_holding(ctx.work.values(), address)
        if here is not None and address in here.bound and address in recorded:
            out.reservations[address] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
            self._bound(claim, address, here, ctx)
            return
        vip = recorded.get(address) or self._static.get(address)
        if vip is not None and not owned_by(vip, claim):
            self._unserved(ctx, view, out, events.IP_CONFLICT, f"IP {address} belongs to another claim")
            return
        found = eni_in_cloud_holding(ctx.work.values(), address)
        if here is None and found is not None and vip is not None:  # moved here by a process that died after
            self._static.own(address, claim, eni_id=found.eni_id, subnet_id=found.eni.subnet_id, node=ctx.name)
            found.bound.append(address)
            out.reservations[address] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
            self._bound(claim, address, found, ctx)
            return
        if here is not None:  # Releasing on this node: the pod came back before the IP left
            self._cancel_release(ctx, claim, view, here, address, out)
            return
        if vip is None or not vip.spec.node_name or vip.spec.node_name == ctx.name:
            self._place_address(ctx, claim, view, address, vip, out)
            return
        self._move_from(ctx, claim, view, vip, out)

    def _cancel_release(self, ctx: NodeContext, claim: VpcIPClaim, view: PodView, here: WorkingEni, address: str,
                        out: PassOutcome) -> None:
        """Bound again, reserved for the pod, whether or not the agent released it already: the agent drops its
        promise once it sees the IP Bound and gives it to this pod only. Unassigning and assigning it again
        would let another node take it in between."""
        if address not in here.releasing or claim.metadata.deletion_timestamp is not None \
                or not self._static.keep(address, eni_id=here.eni_id, claim=claim):
            out.waiting = True  # a claim being deleted lets the release finish; a move got the IP first
            return
        here.drop([address])
        here.bound.append(address)
        out.reservations[address] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
        self._bound(claim, address, here, ctx)

    def _move_from(self, ctx: NodeContext, claim: VpcIPClaim, view: PodView, vip: VpcIP, out: PassOutcome) -> None:
        """The claim's IP sits on another node: have that node release it, then migrate it here."""
        if vip.spec.subnet_id not in ctx.subnets:
            self._unserved(ctx, view, out, events.ZONE_MISMATCH,
                           f"retained IP {vip.ip} is in subnet {vip.spec.subnet_id}, not usable in zone "
                           f"{ctx.nec.spec.zone} of node {ctx.name}")
            return
        other = self._nec(vip.spec.node_name)
        state = None
        if other is not None:
            state = next((e.state for eni in other.status.enis for e in eni.ips if e.ip == vip.ip), None)
        if other is not None and state is None:
            out.waiting = True  # that node's pass has not published it yet (or is removing it)
            return
        if state is IPState.BOUND:
            self._records.set_ip_phase(vip.ip, VpcIPPhase.RELEASING)
            out.waiting = True
            return
        if other is not None and (vip.ip not in other.status.agent.released_ips
                                  or vip.ip in other.status.agent.in_use_ips):
            out.waiting = True
            return
        target = self._target(ctx, vip.spec.subnet_id, view, out)
        if target is None:
            return
        if not self._static.migrate(address=vip.ip, source_eni_id=vip.spec.eni_id, node=ctx.name,
                                    eni_id=target.eni_id, subnet_id=vip.spec.subnet_id, claim=claim,
                                    confirmed=lambda: self._released_by(vip.spec.node_name, vip.ip)):
            out.waiting = True  # its node kept it for a pod of the name there, or it moved since it was read
            return
        target.bound.append(vip.ip)
        out.reservations[vip.ip] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
        self._bound(claim, vip.ip, target, ctx)

    def _place_address(self, ctx: NodeContext, claim: VpcIPClaim, view: PodView, address: str, vip: VpcIP | None,
                       out: PassOutcome) -> None:
        """Assign exactly ``address`` here, in the subnet whose CIDR holds it."""
        vip = vip or self._static.get(address)
        if vip is not None and not owned_by(vip, claim):
            self._unserved(ctx, view, out, events.IP_CONFLICT, f"IP {address} belongs to another claim")
            return
        subnet_id = vip.spec.subnet_id if vip is not None and vip.spec.subnet_id else \
            subnet_holding(ctx.subnets.values(), address)
        allowed = self._allowed_subnets(ctx, claim)
        if subnet_id is None or subnet_id not in allowed:
            self._unserved(ctx, view, out, events.NO_SUBNET if subnet_id is None else events.ZONE_MISMATCH,
                           f"IP {address} is not in a subnet the pod may use on node {ctx.name} "
                           f"(zone {ctx.nec.spec.zone})")
            return
        target = self._target(ctx, subnet_id, view, out)
        if target is None:
            return
        try:
            self._static.assign_address(node=ctx.name, eni_id=target.eni_id, subnet_id=subnet_id, address=address,
                                        claim=claim)
        except AddressTaken as e:
            self._unserved(ctx, view, out, events.IP_CONFLICT, str(e))
            return
        except CloudError as e:
            if e.retryable:
                raise
            self._static.forget_unassigned(address, claim)
            self._unserved(ctx, view, out, events.IP_CONFLICT, f"IP {address} cannot be assigned: {e}")
            return
        target.bound.append(address)
        out.reservations[address] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
        self._bound(claim, address, target, ctx)

    # ---- new IPs --------------------------------------------------------------------------------

    def _assign_new(self, ctx: NodeContext, new: list[tuple[VpcIPClaim, PodView]], out: PassOutcome) -> None:
        groups: dict[tuple[str, ...], list[tuple[VpcIPClaim, PodView]]] = {}
        for claim, view in new:
            groups.setdefault(self._allowed_subnets(ctx, claim), []).append((claim, view))
        batch_cap: dict[str, int] = {}  # a by-count assign fails whole past a subnet's last IPs: ask for fewer
        for allowed, waiting in groups.items():
            for _ in range(8):  # each round assigns on one ENI or adds one; bounded like the pool's growth
                if not waiting:
                    break
                if not allowed:
                    for _claim, view in waiting:
                        self._unserved(ctx, view, out, events.NO_SUBNET,
                                       f"no subnet the pod may use serves zone {ctx.nec.spec.zone}")
                    waiting = []
                    break
                slots = [w.slot() for w in ctx.work.values() if w.eni.subnet_id in allowed]
                plan, _ = plan_assignments(slots, len(waiting), max_ips_per_eni=ctx.limits.max_ip_per_eni,
                                           used=ctx.used, exhausted_subnets=self._exhausted_now())
                if not plan:
                    if self._add_eni(ctx, allowed, [v for _, v in waiting], out) is None:
                        waiting = []
                        break
                    continue
                target = ctx.work[plan[0].eni_id]
                subnet_id = target.eni.subnet_id
                size = min(plan[0].count, batch_cap.get(subnet_id, plan[0].count))
                batch, waiting = waiting[:size], waiting[size:]
                try:
                    pairs, ran_out = self._static.assign_new(
                        node=ctx.name, nec_uid=ctx.nec.metadata.uid, annotations=ctx.annotations,
                        eni_id=target.eni_id, subnet_id=subnet_id, claims=[c for c, _ in batch])
                except SubnetExhausted:  # nothing assigned
                    pairs, ran_out = [], True
                finally:
                    bump_seq(ctx.annotations)
                if ran_out and len(batch) - len(pairs) > 1:  # halve before calling the subnet exhausted
                    batch_cap[subnet_id] = (len(batch) - len(pairs)) // 2
                elif ran_out:
                    self._exhausted[subnet_id] = self._clock.monotonic() + self._config.subnet_exhausted_backoff
                views = {c.metadata.uid: v for c, v in batch}
                for claim, address in pairs:
                    view = views[claim.metadata.uid]
                    target.bound.append(address)
                    out.reservations[address] = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
                    self._bound(claim, address, target, ctx)
                waiting = [(c, v) for c, v in batch if c.metadata.uid not in {p[0].metadata.uid for p in pairs}] \
                    + waiting
            if waiting:  # rounds ran out: look again soon
                out.waiting = True

    def _allowed_subnets(self, ctx: NodeContext, claim: VpcIPClaim) -> tuple[str, ...]:
        zone = sorted(ctx.subnets)
        if claim.spec.nominated_subnet_ids:
            return tuple(s for s in zone if s in claim.spec.nominated_subnet_ids)
        if self._config.only_nominated_subnets:
            if ctx.reserved_subnets is None:  # once per pass: what claims and exclusive-ENI pods nominate
                ctx.reserved_subnets = reserved_subnets(self._reader)
            return tuple(s for s in zone if s not in ctx.reserved_subnets)
        return tuple(zone)

    def _target(self, ctx: NodeContext, subnet_id: str, view: PodView, out: PassOutcome) -> WorkingEni | None:
        """The ENI of this node in ``subnet_id`` with most IPs in use and room; a new one when there is none."""
        slots = [w.slot() for w in ctx.work.values() if w.eni.subnet_id == subnet_id]
        plan, _ = plan_assignments(slots, 1, max_ips_per_eni=ctx.limits.max_ip_per_eni, used=ctx.used)
        if plan:
            return ctx.work[plan[0].eni_id]
        return self._add_eni(ctx, (subnet_id,), [view], out)

    def _add_eni(
        self, ctx: NodeContext, allowed: tuple[str, ...], views: list[PodView], out: PassOutcome,
    ) -> WorkingEni | None:
        """A new ENI in the freest allowed subnet; None (each waiting pod told why) when none can be had."""
        if len(ctx.work) >= ctx.limits.max_eni:
            self._unserved(ctx, views, out, events.ENI_LIMIT, f"all {ctx.limits.max_eni} ENIs of node {ctx.name} "
                           f"hold {ctx.limits.max_ip_per_eni} IPs each or serve other subnets")
            return None
        choices = [SubnetChoice(s, ctx.subnets[s].available_ip_count) for s in allowed if s in ctx.subnets]
        subnet_id = choose_subnet(choices, exhausted=self._exhausted_now())
        if subnet_id is None:
            self._unserved(ctx, views, out, events.SUBNET_EXHAUSTED,
                           f"no free IP in subnets {', '.join(allowed)} for node {ctx.name}")
            return None
        try:
            eni = self._enis.create_and_attach(node=ctx.name, nec_uid=ctx.nec.metadata.uid,
                                               annotations=ctx.annotations, instance_id=ctx.nec.spec.instance_id,
                                               subnet_id=subnet_id, security_groups=ctx.security_groups)
        except QuotaExceeded as e:
            self._unserved(ctx, views, out, events.ENI_LIMIT, f"node {ctx.name}: {e}")
            return None
        except SubnetExhausted as e:
            self._exhausted[subnet_id] = self._clock.monotonic() + self._config.subnet_exhausted_backoff
            self._unserved(ctx, views, out, events.SUBNET_EXHAUSTED, f"subnet {subnet_id}: {e}")
            return None
        finally:
            bump_seq(ctx.annotations)
        self._recorder.event(ctx.nec.to_dict(), reason=events.ENI_CREATED, kind=NODE_ENI_CONFIG,
                             message=f"created ENI {eni.id} in {subnet_id}")
        work = WorkingEni(eni=just_attached(eni, ctx.nec.spec.instance_id))
        ctx.work[eni.id] = work
        return work

    def _bound(self, claim: VpcIPClaim, address: str, eni: WorkingEni, ctx: NodeContext) -> None:
        self._claims.set_status(claim, phase=ClaimPhase.BOUND, ip=address, subnet_id=eni.eni.subnet_id,
                                eni_id=eni.eni_id, node_name=ctx.name, released_time=None, message="")

    def _unserved(self, ctx: NodeContext, views: PodView | list[PodView], out: PassOutcome, reason: str,
                  message: str) -> None:
        """A Warning Event on each pod that cannot get its IP now, and the reason on its claim."""
        out.waiting, out.eni_limit = True, out.eni_limit or reason == events.ENI_LIMIT
        for view in views if isinstance(views, list) else [views]:
            out.unserved += 1
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": view.namespace, "name": view.name,
                                                                    "uid": view.uid}}
            self._recorder.event(pod, reason=reason, type="Warning", message=message, kind=POD)
            claim = self._claim(view.namespace, view.name)
            if claim is not None:
                self._claims.set_status(claim, message=f"{reason}: {message}")

    def _released_by(self, node: str, address: str) -> bool:
        """Whether ``node``'s NEC, read now, shows ``address`` Releasing and released by its agent, not in use
        (a node already removed has no agent left to ask)."""
        nec = self._nec(node)
        if nec is None:
            return True
        releasing = any(e.ip == address and e.state is IPState.RELEASING for eni in nec.status.enis for e in eni.ips)
        agent = nec.status.agent
        return releasing and address in agent.released_ips and address not in agent.in_use_ips

    def _nec(self, node: str) -> NodeENIConfig | None:
        try:
            return NodeENIConfig.from_dict(self._client.get(NODE_ENI_CONFIG, ObjectKey("", node)))
        except (NotFoundError, DecodeError):
            return None

    def _exhausted_now(self) -> set[str]:
        return {s for s, until in self._exhausted.items() if until > self._clock.monotonic()}
