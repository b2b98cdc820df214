"""EipClaimReconciler: the life of a pod's EIPClaim, keyed by the pod's namespace/name.

One Request names both the pod and its claim. Per reconcile, in this order:
- no claim: a running pod that wants an EIP gets one (finalizer, owner with --enable-ownerref,
  spec from its annotations); bad annotations give a Warning Event and create nothing;
- claim being deleted: while the pod it serves still runs, the deletion is deferred (Warning Event,
  the EIP stays bound; the finalizer holds the claim) — a running pod never loses its address to a
  ``kubectl delete eipc``; once the pod is gone, the EIP is disassociated, released if we allocated
  it, and the finalizer removed;
- the claim's pod is gone (or replaced by a new pod of the same name): delete policy Immediate
  deletes the claim and gives the EIP back at once; Never disassociates it and keeps it (Retained);
- no pod: a Retained claim waits for its expiry (claim-expired-duration, or the controller's
  default; never without either), then is deleted like any other;
- a live pod: the claim adopts it and the Binder associates the EIP with its IP.
It never releases an EIP that carries no tag of this claim's uid (eip-id-list EIPs are the user's).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from eni.api.v1 import ClaimPhase, EIPClaim, EIPClaimSpec, ObjectMeta
from eni.api.v1.codec import encode_replacing
from eni.api.v1.constants import FINALIZER_EIP_CLAIM
from eni.api.v1.enums import DeletePolicy
from eni.api.v1.errors import AnnotationError
from eni.cloud.types import Eip, EipState
from eni.runtime import log as kvlog
from eni.runtime.client.errors import NotFoundError
from eni.runtime.meta import POD, Obj, ObjectKey
from eni.runtime.reconcile import Request, Result

from . import events
from .binding import Binder, allocated_for, bound_by
from .context import Deps
from .owner import workload_owner
from .podview import EipRequest, PodView, is_running, parse_request, wants_eip
from .settings import CLAIM_TAG_KEY

log = kvlog.get_logger(__name__)


class EipClaimReconciler:
    """Reconciles the EIPClaim named after a pod (see the module docstring)."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._binder = Binder(deps)

    def reconcile(self, request: Request) -> Result:
        key = request.key
        pod = self._pod(key)
        live = pod if pod is not None and wants_eip(pod) and is_running(pod) else None
        if pod is not None and live is None:
            self._d.writer.annotate_pod(pod, None)  # a pod that no longer runs or asks has no public address
        claim = self._d.writer.get(key)
        if claim is None:
            return self._create(live) if live is not None else Result()
        if claim.metadata.deletion_timestamp is not None:
            return self._on_deletion(claim, live)
        if claim.spec.pod_uid and (live is None or PodView.of(live).uid != claim.spec.pod_uid):
            if claim.spec.delete_policy is DeletePolicy.IMMEDIATE:
                return self._delete_and_finalize(claim)
            claim = self._retain(claim)
        if live is None:
            return self._wait_for_expiry(claim)
        return self._serve(claim, live)

    def _pod(self, key: ObjectKey) -> Obj | None:
        try:
            return self._d.reader.get(POD, key)
        except NotFoundError:
            return None

    def _request_of(self, pod: Obj) -> EipRequest | None:
        try:
            return parse_request(PodView.of(pod).annotations)
        except AnnotationError as e:
            self._d.pod_event(pod, events.INVALID_EIP_ANNOTATION, f"no EIP for this pod: {e}", warning=True)
            return None

    # ---- a live pod ------------------------------------------------------------------------------------

    def _create(self, pod: Obj) -> Result:
        request = self._request_of(pod)
        if request is None:
            return Result()
        view = PodView.of(pod)
        owner = workload_owner(pod, self._d.owners) if self._d.settings.enable_ownerref else None
        claim = EIPClaim(
            metadata=ObjectMeta(name=view.name, namespace=view.namespace, finalizers=(FINALIZER_EIP_CLAIM,),
                                owner_references=(owner,) if owner is not None else ()),
            spec=self._spec(EIPClaimSpec(bandwidth=request.attributes.bandwidth_mbps, isp=request.attributes.isp,
                                         eip_ids=request.eip_ids), request, view),
        )
        claim = self._d.writer.create(claim)
        log.info("Created EIPClaim", pod_uid=view.uid, owner=owner.name if owner else "")
        claim = self._d.writer.set_status(claim, phase=ClaimPhase.PENDING)
        return self._binder.bind(claim, pod, view)

    @staticmethod
    def _spec(spec: EIPClaimSpec, request: EipRequest, view: PodView) -> EIPClaimSpec:
        return dataclasses.replace(spec, delete_policy=request.delete_policy,
                                   expired_duration=request.expired_duration, pod_uid=view.uid)

    def _serve(self, claim: EIPClaim, pod: Obj) -> Result:
        request = self._request_of(pod)
        if request is None:
            return Result()  # what is bound stays bound; the user fixes the annotation
        view = PodView.of(pod)
        claim = self._d.writer.add_finalizer(claim)  # a claim made by hand has none
        spec = self._spec(claim.spec, request, view)
        if spec != claim.spec:
            if not claim.spec.pod_uid:
                log.info("EIPClaim adopted by a new pod", pod_uid=view.uid, eip=claim.status.eip_id)
            claim = self._d.writer.patch_spec(claim, encode_replacing(spec))
        return self._binder.bind(claim, pod, view)

    # ---- the pod is gone -------------------------------------------------------------------------------

    def _retain(self, claim: EIPClaim) -> EIPClaim:
        """Unbind the EIP from the departed pod's IP and keep it for the next pod of the same name."""
        if claim.status.eip_id:
            eip = self._d.cloud.describe([claim.status.eip_id]).get(claim.status.eip_id)
            if eip is not None and eip.state is not EipState.UNBIND and bound_by(claim, eip):
                self._d.cloud.disassociate(eip)
        now = self._d.settings.clock.now()
        kept_since = claim.status.released_time if claim.status.phase is ClaimPhase.RETAINED else None
        claim = self._d.writer.set_status(claim, phase=ClaimPhase.RETAINED, private_ip="", eni_id="",
                                          released_time=kept_since or now, message="")
        claim = self._d.writer.patch_spec(claim, {"podUID": None})
        log.info("Retained EIP", eip=claim.status.eip_id)
        self._d.claim_event(claim, events.EIP_RETAINED,
                            f"pod gone; EIP {claim.status.eip_id or '(none yet)'} kept for the next pod {claim.key}")
        return claim

    def _wait_for_expiry(self, claim: EIPClaim) -> Result:
        duration = claim.spec.expired_duration or self._d.settings.claim_expired_duration
        if duration is None:
            return Result()
        now = self._d.settings.clock.now()
        kept_since = claim.status.released_time
        if kept_since is None:
            claim = self._d.writer.set_status(claim, released_time=now)
            kept_since = now
        remaining = (kept_since + duration - now) / timedelta(seconds=1)
        if remaining > 0:
            return Result(requeue_after=remaining)
        claim = self._d.writer.set_status(claim, phase=ClaimPhase.EXPIRED)
        self._d.claim_event(claim, events.EIP_CLAIM_EXPIRED, f"retained longer than {duration}; giving it back")
        return self._delete_and_finalize(claim)

    def _delete_and_finalize(self, claim: EIPClaim) -> Result:
        self._d.writer.delete(claim)
        current = self._d.writer.get(claim.key)
        if current is None or current.metadata.uid != claim.metadata.uid:
            return Result()
        return self._finalize(current)

    # ---- deletion ----------------------------------------------------------------------------------------

    def _on_deletion(self, claim: EIPClaim, live: Obj | None) -> Result:
        if live is not None and PodView.of(live).uid == claim.spec.pod_uid:
            message = (f"EIPClaim {claim.key} was deleted while pod {claim.key} uses it; its EIP stays bound and "
                       "the claim goes when the pod does")
            self._d.claim_event(claim, events.DELETION_DEFERRED, message, warning=True)
            self._d.pod_event(live, events.DELETION_DEFERRED, message, warning=True)
            if not claim.status.eip_id:
                return Result()  # nothing to keep working, and a claim being deleted gets no new EIP
            return self._binder.bind(claim, live, PodView.of(live))
        return self._finalize(claim)

    def _finalize(self, claim: EIPClaim) -> Result:
        """Disassociate the claim's EIP, release it if we allocated it, then drop the finalizer."""
        if FINALIZER_EIP_CLAIM not in claim.metadata.finalizers:
            return Result()
        candidates: dict[str, Eip] = {}
        if claim.status.eip_id:
            candidates.update(self._d.cloud.describe([claim.status.eip_id]))
        if not claim.spec.eip_ids and claim.metadata.uid:
            candidates.update((e.id, e) for e in self._d.cloud.tagged({CLAIM_TAG_KEY: claim.metadata.uid}))
        released = []
        for eip in candidates.values():
            if eip.state is not EipState.UNBIND and bound_by(claim, eip):
                self._d.cloud.disassociate(eip)
            if allocated_for(claim, eip):
                self._d.cloud.release(eip.id)
                released.append(eip.id)
        self._d.writer.remove_finalizer(claim)
        log.info("Finalized EIPClaim", released=released)
        if released:
            self._d.claim_event(claim, events.EIP_RELEASED, f"EIP {', '.join(released)} released")
        return Result()
