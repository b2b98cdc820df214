"""Static-IP mode: an exclusive ENI per direct-ENI pod, created or re-attached once the pod is on a node.

Per pass, for node N (called by the node pool reconciler instead of the warm pool):
1. Keeps that a restart interrupted are finished (``keep.KeptEnis.finish``).
2. Each exclusive ENI on N is published for the pod its VpcENI names (``spec.ownerPod``) while that pod
   lives on N; the VpcENI follows the pod's uid, delete policy, expiry and (``--enable-ownerref``) workload.
   When the pod is gone from N the ENI is marked Releasing (never while the agent lists it in use); once the
   agent lists it in ``releasedENIs`` it is detached and then kept (delete policy Never: ``spec.nodeName``
   cleared, ``spec.ownerPod`` kept) or deleted. A ``kubectl delete veni`` while the pod lives is deferred with
   a Warning Event; the ENI then goes with the pod.
3. Each live direct-ENI pod on N without its ENI gets one: the ENI kept for it (same namespace and name) is
   attached again — only in N's zone, else a Warning Event on the pod says why — or a new one is created in
   the allowed subnet with most free IPs (``nominated-eni-subnets``; ``--only-nominated-eni-subnets``
   reserves nominated subnets for the pods that nominate them). While its old ENI is still on its way back
   from another node, the pod waits.
Every pod that cannot be served gets a Warning Event naming the reason. Never gives one ENI to two pods: an
ENI is published only for the pod its VpcENI names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    VPC_ENI,
    EniType,
    IPState,
    ObjectReference,
    PodRef,
    VpcENI,
)
from eni.api.v1.errors import AnnotationError
from eni.cloud.errors import CloudError, NotFound, QuotaExceeded, SubnetExhausted
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId, Subnet, SubnetId
from eni.controllers import events
from eni.controllers.eip.owner import workload_owner
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.keeper import NecKeeper
from eni.controllers.nominations import reserved_subnets
from eni.controllers.static.config import StaticConfig
from eni.controllers.static.podview import PodView, StaticRequest, parse_static_request
from eni.runtime.client.interfaces import Reader
from eni.runtime.clock import Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import POD

from .context import DirectContext, DirectOutcome
from .create import CreateRequest, DirectCreator, NoSubnet
from .keep import KeptEnis, annotation_changes, keeps, record_annotations
from .model import DirectEni
from .pods import direct_pods


class StaticDirectPass:
    """The static-IP mode exclusive-ENI pass (see the module docstring)."""

    def __init__(self, *, reader: Reader, vpc: VpcApi, calls: CloudCalls, records: Records, enis: EniLifecycle,
                 creator: DirectCreator, necs: NecKeeper, recorder: EventRecorder, clock: Clock,
                 config: StaticConfig, enable_ownerref: bool) -> None:
        self._reader = reader
        self._vpc = vpc
        self._calls = calls
        self._records = records
        self._enis = enis
        self._creator = creator
        self._necs = necs
        self._recorder = recorder
        self._clock = clock
        self._config = config
        self._ownerref = enable_ownerref
        self._kept = KeptEnis(vpc=vpc, records=records, enis=enis)
        self._subnets: dict[str, Subnet] = {}

    def forget(self, node: str) -> None:
        """Nothing is remembered per node."""

    def run(self, ctx: DirectContext) -> DirectOutcome:
        out = DirectOutcome()
        for record in ctx.keeping:
            self._kept.finish(record, now=self._clock.now())
        pods = {(v.namespace, v.name): (v, p) for p in direct_pods(self._reader, ctx.name) for v in [PodView.of(p)]}
        self._enis_here(ctx, pods, out)
        served = {(d.pod.namespace, d.pod.name) for d in ctx.direct.values() if d.pod is not None}
        missing = [(v, p) for key, (v, p) in sorted(pods.items()) if key not in served]
        if missing:
            kept = {(r.spec.owner_pod.namespace, r.spec.owner_pod.name): r for r in self._records.all_enis()
                    if r.spec.type is EniType.DIRECT and r.spec.owner_pod is not None}
            reserved: list[frozenset[str]] = []
            for view, pod in missing:
                self._serve(ctx, view, pod, kept.get((view.namespace, view.name)), out, reserved)
        return out

    # ---- ENIs already on the node ---------------------------------------------------------------

    def _enis_here(self, ctx: DirectContext, pods: Mapping[tuple[str, str], tuple[PodView, Any]],
                   out: DirectOutcome) -> None:
        for d in list(ctx.direct.values()):
            owner = d.record.spec.owner_pod if d.record is not None else None
            found = pods.get((owner.namespace, owner.name)) if owner is not None else None
            if found is not None and d.state is IPState.BOUND and d.record is not None:
                view, pod = found
                d.pod = PodRef(namespace=view.namespace, name=view.name, uid=view.uid)
                self._follow_pod(d.record, view, pod)
                if d.record.metadata.deletion_timestamp is not None:
                    self._pod_event(view, events.DELETION_DEFERRED, type_="Warning", message=(
                        f"VpcENI {d.eni_id} was deleted while pod {view.namespace}/{view.name} holds it; the ENI "
                        "goes when the pod does"))
                continue
            d.pod = PodRef(namespace=owner.namespace, name=owner.name) if owner is not None else None
            if d.state is IPState.BOUND:
                if d.eni_id in ctx.in_use or d.eni_id in ctx.released:
                    out.waiting = True  # a pod still holds it, or the agent has not dropped an old listing
                    continue
                d.state = IPState.RELEASING
                continue
            if d.eni_id not in ctx.released or d.eni_id in ctx.in_use:
                continue  # the agent's report wakes the node again
            self._give_back(ctx, d)

    def _follow_pod(self, record: VpcENI, view: PodView, pod: Mapping[str, Any]) -> None:
        """The VpcENI names the pod's uid and carries its delete policy, expiry and workload."""
        owner = workload_owner(pod, self._reader) if self._ownerref else None
        changes = annotation_changes(record, record_annotations(view.annotations, owner))
        spec: dict[str, Any] = {}
        if record.spec.owner_pod is not None and record.spec.owner_pod.uid != view.uid:
            spec["ownerPod"] = {"uid": view.uid}
        if changes or spec:
            self._records.patch_eni(record.name, spec=spec, annotations=changes)

    def _give_back(self, ctx: DirectContext, d: DirectEni) -> None:
        """The agent gave the ENI back: keep it for its pod (policy Never) or delete it."""
        nec = ctx.nec.to_dict()
        if d.record is not None and keeps(d.record):
            self._kept.keep(d.record, instance_id=ctx.nec.spec.instance_id, now=self._clock.now())
            message = f"detached exclusive ENI {d.eni_id}; kept for pod {d.pod.namespace}/{d.pod.name}" \
                if d.pod is not None else f"detached exclusive ENI {d.eni_id}; kept"
            self._recorder.event(nec, reason=events.ENI_KEPT, kind=NODE_ENI_CONFIG, message=message)
            self._recorder.event(d.record.to_dict(), reason=events.ENI_KEPT, kind=VPC_ENI, message=message)
        else:
            self._enis.remove(d.eni_id, ctx.nec.spec.instance_id)
            self._recorder.event(nec, reason=events.ENI_DELETED, kind=NODE_ENI_CONFIG,
                                 message=f"deleted exclusive ENI {d.eni_id}")
        del ctx.direct[d.eni_id]

    # ---- pods without their ENI -----------------------------------------------------------------

    def _serve(self, ctx: DirectContext, view: PodView, pod: Mapping[str, Any], record: VpcENI | None,
               out: DirectOutcome, reserved: list[frozenset[str]]) -> None:
        try:
            request = parse_static_request(view.annotations)
        except AnnotationError as e:
            self._pod_event(view, events.INVALID_POD_ANNOTATION, f"no exclusive ENI for this pod: {e}")
            return
        if any(d.pod is not None and (d.pod.namespace, d.pod.name) == (view.namespace, view.name)
               for d in ctx.direct.values()):
            out.waiting = True  # its old ENI is still Releasing here
            return
        if record is not None and (record.spec.node_name or record.metadata.deletion_timestamp is not None):
            out.waiting = True  # still on (or on its way back from) its old node, or being reclaimed
            return
        if len(ctx.direct) >= ctx.limits.max_direct_eni:
            self._limited(ctx, view, out, f"node {ctx.name} already has its {ctx.limits.max_direct_eni} exclusive "
                                          "ENIs (maxDirectENI)")
            return
        owner = workload_owner(pod, self._reader) if self._ownerref else None
        wanted = record_annotations(view.annotations, owner)
        if record is not None:
            self._reattach(ctx, view, record, wanted, out)
        else:
            self._create(ctx, view, request, wanted, out, reserved)

    def _reattach(self, ctx: DirectContext, view: PodView, record: VpcENI, wanted: Mapping[str, str | None],
                  out: DirectOutcome) -> None:
        subnet = self._subnet(record.spec.subnet_id)
        zone = ctx.nec.spec.zone
        if subnet is None or subnet.zone != zone:
            where = f"zone {subnet.zone}" if subnet is not None else "an unknown zone"
            self._pod_event(view, events.ZONE_MISMATCH, f"kept exclusive ENI {record.name} is in subnet "
                                                        f"{record.spec.subnet_id} of {where}, not usable on node "
                                                        f"{ctx.name} in zone {zone}")
            return
        try:
            self._kept.attach(record, node=ctx.name, instance_id=ctx.nec.spec.instance_id, pod_uid=view.uid,
                              annotations=wanted)
        except QuotaExceeded as e:
            self._limited(ctx, view, out, f"node {ctx.name}: {e}")
            return
        except NotFound:  # gone in the cloud meanwhile: forget it, the pod gets a new ENI next time
            self._records.forget_eni(record.name)
            out.waiting = True
            return
        except CloudError as e:
            if e.retryable:
                raise
            self._pod_event(view, events.CLOUD_ERROR, f"kept exclusive ENI {record.name} cannot be attached: {e}")
            return
        found = self._vpc.describe_enis(eni_ids=[EniId(record.name)])
        if not found:
            return
        ctx.direct[record.name] = DirectEni(eni=found[0], record=record,
                                            pod=PodRef(namespace=view.namespace, name=view.name, uid=view.uid))
        message = f"attached kept exclusive ENI {record.name} to node {ctx.name} for pod {view.namespace}/{view.name}"
        self._recorder.event(ctx.nec.to_dict(), reason=events.ENI_REATTACHED, kind=NODE_ENI_CONFIG, message=message)
        self._recorder.event(record.to_dict(), reason=events.ENI_REATTACHED, kind=VPC_ENI, message=message)

    def _create(self, ctx: DirectContext, view: PodView, request: StaticRequest, wanted: Mapping[str, str | None],
                out: DirectOutcome, reserved: list[frozenset[str]]) -> None:
        zone_subnets = self._necs.zone_subnets(ctx.nec.spec.zone)
        allowed = [s for s in zone_subnets if s.id in self._allowed(request, [s.id for s in zone_subnets], reserved)]
        if not allowed:
            self._pod_event(view, events.NO_SUBNET, f"no subnet the pod may use serves zone {ctx.nec.spec.zone}")
            return
        owner = ObjectReference(namespace=view.namespace, name=view.name, uid=view.uid)
        try:
            eni = self._creator.create(CreateRequest(node=ctx.name, nec_uid=ctx.nec.metadata.uid,
                                                     instance_id=ctx.nec.spec.instance_id,
                                                     security_groups=ctx.security_groups, owner=owner),
                                       annotations=ctx.annotations, subnets=allowed)
        except (NoSubnet, SubnetExhausted) as e:
            self._pod_event(view, events.SUBNET_EXHAUSTED, f"no exclusive ENI for node {ctx.name}: {e}")
            return
        except QuotaExceeded as e:
            self._limited(ctx, view, out, f"node {ctx.name}: {e}")
            return
        self._records.patch_eni(eni.id, spec={"ownerPod": {"uid": view.uid}},
                                annotations={k: v for k, v in wanted.items() if v is not None})
        ctx.direct[eni.id] = DirectEni(eni=eni, pod=PodRef(namespace=view.namespace, name=view.name, uid=view.uid))
        self._recorder.event(ctx.nec.to_dict(), reason=events.ENI_CREATED, kind=NODE_ENI_CONFIG,
                             message=f"created exclusive ENI {eni.id} in {eni.subnet_id} for pod "
                                     f"{view.namespace}/{view.name}")

    def _allowed(self, request: StaticRequest, zone: list[str], reserved: list[frozenset[str]]) -> set[str]:
        if request.nominated_subnet_ids:
            return {s for s in zone if s in request.nominated_subnet_ids}
        if not self._config.only_nominated_subnets:
            return set(zone)
        if not reserved:  # once per pass: what claims and exclusive-ENI pods nominate
            reserved.append(reserved_subnets(self._reader))
        return {s for s in zone if s not in reserved[0]}

    def _subnet(self, subnet_id: str) -> Subnet | None:
        if subnet_id not in self._subnets:
            for subnet in self._calls.call("DescribeSubnets",
                                           lambda: self._vpc.describe_subnets([SubnetId(subnet_id)])):
                self._subnets[subnet.id] = subnet
        return self._subnets.get(subnet_id)

    def _limited(self, ctx: DirectContext, view: PodView, out: DirectOutcome, message: str) -> None:
        out.limited = out.limited or message
        self._pod_event(view, events.ENI_LIMIT, message)

    def _pod_event(self, view: PodView, reason: str, message: str, *, type_: str = "Warning") -> None:
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"namespace": view.namespace, "name": view.name, "uid": view.uid}}
        self._recorder.event(pod, reason=reason, type=type_, message=message, kind=POD)
