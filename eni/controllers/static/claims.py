"""VpcIPClaimReconciler: the life of a pod's VpcIPClaim, keyed by the pod's namespace/name.

Per reconcile, in this order:
- no claim: a live pod that needs a static IP gets one (finalizer, owner with --enable-ownerref, spec
  from its annotations, phase Pending); bad annotations give a Warning Event and create nothing;
- claim being deleted (``kubectl delete vipc``, expiry, Immediate): while the pod it serves is live
  the deletion is deferred with a Warning Event (the IP stays; the finalizer holds the claim); once
  the pod is gone the finalizer is removed as soon as no VpcIP names the claim any more — the node
  pass gives the IP back through the agent handshake;
- the claim's pod is gone (or replaced by a new pod of the same name): Immediate deletes the claim;
  Never keeps it, Retained, with the IP still assigned on its ENI for the next pod of that name;
- no pod: a Retained claim waits for its expiry (claim-expired-duration, or --claim-expired-duration;
  never without either), then is deleted;
- a live pod: the claim adopts it (``spec.podUID``); the node pass then places the IP.
It never calls the cloud and never writes a VpcIP.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from eni.api.v1 import VPC_IP, VPC_IP_CLAIM, ClaimPhase, DeletePolicy, ObjectMeta, VpcIP, VpcIPClaim, VpcIPClaimSpec
from eni.api.v1.codec import encode_replacing
from eni.api.v1.constants import FINALIZER_VPC_IP_CLAIM
from eni.api.v1.errors import AnnotationError, DecodeError
from eni.controllers import events
from eni.controllers.eip.owner import workload_owner
from eni.runtime import log as kvlog
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client, Reader
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import POD, Obj, ObjectKey
from eni.runtime.reconcile import Request, Result

from .moves import owned_by
from .podview import PodView, StaticRequest, is_live, parse_static_request, wants_static_ip
from .writer import VpcIPClaimWriter

log = kvlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSettings:
    enable_ownerref: bool = False
    """Own each claim by its pod's workload (Deployment via its ReplicaSet, StatefulSet)."""
    claim_expired_duration: timedelta | None = None
    """How long a retained IP outlives its pod when the pod does not say; None: forever."""
    release_wait_interval: float = 2.0
    """Seconds between looks while a deleted claim's IP goes back through the handshake."""


class VpcIPClaimReconciler:
    """Reconciles the VpcIPClaim named after a pod (see the module docstring)."""

    def __init__(self, *, client: Client, reader: Reader, recorder: EventRecorder, settings: ClaimSettings,
                 clock: Clock = REAL_CLOCK) -> None:
        self._client = client
        self._reader = reader
        self._recorder = recorder
        self._settings = settings
        self._clock = clock
        self._writer = VpcIPClaimWriter(client)

    def reconcile(self, request: Request) -> Result:
        key = request.key
        pod = self._pod(key)
        live = pod if pod is not None and wants_static_ip(pod) and is_live(pod) else None
        claim = self._writer.get(key)
        if claim is None:
            return self._create(live) if live is not None else Result()
        if claim.metadata.deletion_timestamp is not None:
            return self._on_deletion(claim, live)
        if claim.spec.pod_uid and (live is None or PodView.of(live).uid != claim.spec.pod_uid):
            if claim.spec.delete_policy is DeletePolicy.IMMEDIATE:
                return self._delete(claim)
            claim = self._retain(claim)
        if live is None:
            return self._wait_for_expiry(claim)
        return self._serve(claim, live)

    def _pod(self, key: ObjectKey) -> Obj | None:
        try:
            return self._reader.get(POD, key)
        except NotFoundError:
            return None

    def _request_of(self, pod: Obj) -> StaticRequest | None:
        try:
            return parse_static_request(PodView.of(pod).annotations)
        except AnnotationError as e:
            self._pod_event(pod, events.INVALID_POD_ANNOTATION, f"no static IP for this pod: {e}")
            return None

    # ---- a live pod -------------------------------------------------------------------------------

    def _create(self, pod: Obj) -> Result:
        request = self._request_of(pod)
        if request is None:
            return Result()
        view = PodView.of(pod)
        owner = workload_owner(pod, self._reader) if self._settings.enable_ownerref else None
        claim = VpcIPClaim(
            metadata=ObjectMeta(name=view.name, namespace=view.namespace, finalizers=(FINALIZER_VPC_IP_CLAIM,),
                                owner_references=(owner,) if owner is not None else ()),
            spec=_spec(VpcIPClaimSpec(), request, view))
        claim = self._writer.create(claim)
        log.info("Created VpcIPClaim", claim=str(claim.key), pod_uid=view.uid)
        self._writer.set_status(claim, phase=ClaimPhase.PENDING)
        return Result()

    def _serve(self, claim: VpcIPClaim, pod: Obj) -> Result:
        request = self._request_of(pod)
        if request is None:
            return Result()
        view = PodView.of(pod)
        claim = self._writer.add_finalizer(claim)  # a claim made by hand has none
        spec = _spec(claim.spec, request, view)
        if spec != claim.spec:
            adopted = not claim.spec.pod_uid
            claim = self._writer.patch_spec(claim, encode_replacing(spec))
            if adopted:
                log.info("VpcIPClaim adopted by a new pod", claim=str(claim.key), ip=claim.status.ip)
                self._writer.set_status(claim, phase=ClaimPhase.PENDING if not claim.status.ip else claim.status.phase,
                                        released_time=None)
        return Result()

    # ---- the pod is gone --------------------------------------------------------------------------

    def _retain(self, claim: VpcIPClaim) -> VpcIPClaim:
        now = self._clock.now()
        kept_since = claim.status.released_time if claim.status.phase is ClaimPhase.RETAINED else None
        claim = self._writer.patch_spec(claim, {"podUID": None})
        claim = self._writer.set_status(claim, phase=ClaimPhase.RETAINED, released_time=kept_since or now)
        self._claim_event(claim, events.CLAIM_RETAINED,
                          f"pod gone; IP {claim.status.ip or '(none yet)'} kept for the next pod {claim.key}")
        return claim

    def _wait_for_expiry(self, claim: VpcIPClaim) -> Result:
        duration = claim.spec.expired_duration or self._settings.claim_expired_duration
        if duration is None:
            return Result()
        now = self._clock.now()
        kept_since = claim.status.released_time
        if kept_since is None:
            claim = self._writer.set_status(claim, released_time=now)
            kept_since = now
        remaining = (kept_since + duration - now) / timedelta(seconds=1)
        if remaining > 0:
            return Result(requeue_after=remaining)
        claim = self._writer.set_status(claim, phase=ClaimPhase.EXPIRED)
        self._claim_event(claim, events.CLAIM_EXPIRED, f"retained longer than {duration}; giving the IP back")
        return self._delete(claim)

    def _delete(self, claim: VpcIPClaim) -> Result:
        self._writer.delete(claim)
        current = self._writer.get(claim.key)
        if current is None or current.metadata.uid != claim.metadata.uid:
            return Result()
        return self._finalize(current)

    # ---- deletion ---------------------------------------------------------------------------------

    def _on_deletion(self, claim: VpcIPClaim, live: Obj | None) -> Result:
        if live is not None and PodView.of(live).uid == claim.spec.pod_uid:
            message = (f"VpcIPClaim {claim.key} was deleted while pod {claim.key} runs; its IP "
                       f"{claim.status.ip or '(none yet)'} stays and the claim goes when the pod does")
            self._claim_event(claim, events.CLAIM_DELETION_DEFERRED, message)
            self._pod_event(live, events.CLAIM_DELETION_DEFERRED, message)
            return Result()
        return self._finalize(claim)

    def _finalize(self, claim: VpcIPClaim) -> Result:
        """Drop the finalizer once no VpcIP names the claim (the node pass releases it first)."""
        if FINALIZER_VPC_IP_CLAIM not in claim.metadata.finalizers:
            return Result()
        if claim.status.ip and self._holds(claim):
            return Result(requeue_after=self._settings.release_wait_interval)
        self._writer.remove_finalizer(claim)
        log.info("Finalized VpcIPClaim", claim=str(claim.key), ip=claim.status.ip)
        return Result()

    def _holds(self, claim: VpcIPClaim) -> bool:
        try:
            vip = VpcIP.from_dict(self._client.get(VPC_IP, ObjectKey("", claim.status.ip)))
        except (NotFoundError, DecodeError):
            return False
        return owned_by(vip, claim)

    # ---- events -----------------------------------------------------------------------------------

    def _pod_event(self, pod: Obj, reason: str, message: str) -> None:
        self._recorder.event(pod, reason=reason, message=message, type="Warning", kind=POD)

    def _claim_event(self, claim: VpcIPClaim, reason: str, message: str) -> None:
        warning = reason == events.CLAIM_DELETION_DEFERRED
        self._recorder.event(claim.to_dict(), reason=reason, message=message, type="Warning" if warning else "Normal",
                             kind=VPC_IP_CLAIM)


def _spec(spec: VpcIPClaimSpec, request: StaticRequest, view: PodView) -> VpcIPClaimSpec:
    return dataclasses.replace(spec, delete_policy=request.delete_policy, expired_duration=request.expired_duration,
                               nominated_subnet_ids=request.nominated_subnet_ids, nominated_ip=request.nominated_ip,
                               pod_uid=view.uid)
