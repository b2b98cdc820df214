"""Non-static mode: each node's warm pool of free exclusive ENIs.

Per pass, for node N (called by the node pool reconciler with the model of N's exclusive ENIs):
1. Warm targets: the NEC annotations ``direct-eni-min/max-warm-target`` over ``--eni-min/max-warm-target``;
   an invalid pair keeps the previous targets and raises a Warning Event on the NEC.
2. Release handshake, ipamd's side: an exclusive ENI that is Releasing, listed in the agent's
   ``releasedENIs`` and not in its ``inUseENIs`` is detached and deleted. Nothing else is ever detached.
3. Sizing (``sizing.direct_change``): free = Bound ENIs not in ``inUseENIs``. Below the minimum new ENIs
   are created (``create.DirectCreator``) up to ``maxDirectENI``; above the maximum (or a lowered cap) free
   ENIs are marked Releasing — never one the agent lists in use, nor one still listed as released from an
   earlier round — and only once the agent has reported at all. A free ENI whose VpcENI was deleted by hand
   (``kubectl delete veni``) is given back the same way, and replaced if the window wants it.
A refusal by the cloud (instance or account quota) blocks growth of the node until its limits change, with
a Warning Event on the NEC and the Node: no retry storm. This pass never writes the NEC status.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eni.api.v1 import NODE_ENI_CONFIG, IPState
from eni.api.v1.constants import WarmTargets, parse_direct_eni_warm_targets
from eni.api.v1.errors import AnnotationError
from eni.cloud.errors import QuotaExceeded, SubnetExhausted
from eni.controllers import events
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.nec.keeper import NecKeeper
from eni.controllers.nec.limits import NodeLimits
from eni.runtime.client.interfaces import Reader
from eni.runtime.clock import Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import NODE

from .context import DirectContext, DirectOutcome
from .create import CreateRequest, DirectCreator, NoSubnet
from .keep import KeptEnis
from .model import DirectEni, free_enis
from .pods import direct_pods
from .sizing import DirectFigures, direct_change

MAX_CREATES_PER_PASS = 8
"""Bound on create attempts in one pass; the next pass continues."""


@dataclass
class _Memory:
    warm: WarmTargets | None = None
    problem: str = ""
    quota_blocked: NodeLimits | None = None
    limited: str = ""


class DirectPool:
    """The non-static exclusive-ENI pass (see the module docstring)."""

    def __init__(self, *, reader: Reader, enis: EniLifecycle, creator: DirectCreator, necs: NecKeeper,
                 recorder: EventRecorder, warm: WarmTargets, kept: KeptEnis, clock: Clock) -> None:
        self._reader = reader
        self._kept = kept
        self._clock = clock
        self._enis = enis
        self._creator = creator
        self._necs = necs
        self._recorder = recorder
        self._default = warm
        self._memory: dict[str, _Memory] = {}
        self._lock = threading.Lock()

    def forget(self, node: str) -> None:
        with self._lock:
            self._memory.pop(node, None)

    def run(self, ctx: DirectContext) -> DirectOutcome:
        with self._lock:
            memory = self._memory.setdefault(ctx.name, _Memory())
        warm = self._warm(ctx, memory)
        for record in ctx.keeping:  # kept for a static pod before a switch to non-static mode: finish keeping it
            self._kept.finish(record, now=self._clock.now())
        self.finish_releases(ctx)
        for d in ctx.direct.values():
            d.pod = None  # a pool ENI is for any pod of the node (a static-mode leftover is not reserved any more)
        self._release_deleted(ctx)
        bound = [d for d in ctx.direct.values() if d.state is IPState.BOUND]
        if ctx.reported:
            free = free_enis(ctx.direct.values(), in_use=ctx.in_use)
            in_use = len(bound) - len(free)
        else:  # before the agent's first report: as many held as there are direct-ENI pods here
            in_use = min(len(bound), len(direct_pods(self._reader, ctx.name)))
            free = bound[in_use:]
        releasing = len(ctx.direct) - len(bound)
        change = direct_change(DirectFigures(in_use=in_use, free=len(free), releasing=releasing,
                                             cap=ctx.limits.max_direct_eni), warm=warm)
        out = DirectOutcome()
        if change.release and ctx.reported:
            candidates = [d for d in reversed(free) if d.eni_id not in ctx.released]
            for d in candidates[:change.release]:
                d.state = IPState.RELEASING
        # A node whose instance (or direct-eni-max-attach) allows no exclusive ENI takes no part: no warnings.
        short = change.short if ctx.limits.max_direct_eni else 0
        if change.create:
            short += self._grow(ctx, memory, change.create)
        limited = ""
        if short:
            limited = (f"{short} more exclusive ENIs wanted; the node has {len(ctx.direct)} of its "
                       f"{ctx.limits.max_direct_eni} (maxDirectENI)")
            if not memory.limited:
                self._warn(ctx, events.ENI_LIMIT, limited)
        memory.limited = limited
        out.limited = limited
        return out

    def finish_releases(self, ctx: DirectContext) -> None:
        """Detach and delete the exclusive ENIs the agent gave back (Releasing, released, not in use)."""
        for d in list(ctx.direct.values()):
            if d.state is IPState.RELEASING and d.eni_id in ctx.released and d.eni_id not in ctx.in_use:
                self._enis.remove(d.eni_id, ctx.nec.spec.instance_id)
                self._recorder.event(ctx.nec.to_dict(), reason=events.ENI_DELETED, kind=NODE_ENI_CONFIG,
                                     message=f"deleted exclusive ENI {d.eni_id}")
                del ctx.direct[d.eni_id]

    @staticmethod
    def _release_deleted(ctx: DirectContext) -> None:
        """A pool ENI whose VpcENI was deleted by hand goes back through the handshake once no pod holds it."""
        for d in ctx.direct.values():
            if (d.record is not None and d.record.metadata.deletion_timestamp is not None
                    and d.state is IPState.BOUND and d.eni_id not in ctx.in_use and d.eni_id not in ctx.released
                    and ctx.reported):
                d.state = IPState.RELEASING

    def _warm(self, ctx: DirectContext, memory: _Memory) -> WarmTargets:
        try:
            warm = parse_direct_eni_warm_targets(ctx.annotations) or self._default
            memory.problem = ""
        except AnnotationError as e:
            warm = memory.warm or self._default
            if memory.problem != str(e):
                self._recorder.event(ctx.nec.to_dict(), reason=events.INVALID_ANNOTATION, type="Warning",
                                     message=f"{e}; the previous value stays in force", kind=NODE_ENI_CONFIG)
            memory.problem = str(e)
        memory.warm = warm
        return warm

    def _grow(self, ctx: DirectContext, memory: _Memory, count: int) -> int:
        """Create ``count`` ENIs; returns how many could not be had."""
        if memory.quota_blocked == ctx.limits:
            return count
        memory.quota_blocked = None
        request = CreateRequest(node=ctx.name, nec_uid=ctx.nec.metadata.uid, instance_id=ctx.nec.spec.instance_id,
                                security_groups=ctx.security_groups)
        subnets = self._necs.zone_subnets(ctx.nec.spec.zone)
        for _ in range(min(count + 2, MAX_CREATES_PER_PASS)):
            if count <= 0:
                break
            try:
                eni = self._creator.create(request, annotations=ctx.annotations, subnets=subnets)
            except NoSubnet:
                self._warn(ctx, events.SUBNET_EXHAUSTED, f"no subnet of zone {ctx.nec.spec.zone} has a free IP "
                                                         "for an exclusive ENI")
                break
            except SubnetExhausted as e:
                self._warn(ctx, events.SUBNET_EXHAUSTED, str(e))
                continue
            except QuotaExceeded as e:
                memory.quota_blocked = ctx.limits
                self._warn(ctx, events.ENI_LIMIT, f"exclusive ENI refused: {e}")
                break
            ctx.direct[eni.id] = DirectEni(eni=eni)
            self._recorder.event(ctx.nec.to_dict(), reason=events.ENI_CREATED, kind=NODE_ENI_CONFIG,
                                 message=f"created exclusive ENI {eni.id} in {eni.subnet_id}")
            count -= 1
        return count

    def _warn(self, ctx: DirectContext, reason: str, message: str) -> None:
        self._recorder.event(ctx.nec.to_dict(), reason=reason, type="Warning", message=message, kind=NODE_ENI_CONFIG)
        self._recorder.event(ctx.node_obj, reason=reason, type="Warning", message=message, kind=NODE)
