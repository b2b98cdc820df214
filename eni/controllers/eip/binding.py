"""Binder: gives a live pod its EIP — allocate (or pick from eip-id-list), associate, publish.

Order, so that a crash anywhere leaks nothing and repeats nothing: (1) allocate with an intent
derived from the claim's uid (a restart replays the same ClientToken and gets the same EIP), tagged
with that uid; (2) record the EIP in the claim's status; (3) associate it with the pod's IP on the
ENI that holds it; (4) status Bound and the pod's eip-public-ip annotation. An EIP of eip-id-list
is never allocated and never released; it is used only when it exists and no one else holds it,
and is recorded only once associated. Quota errors hold allocation off for the whole account;
other non-retryable cloud errors become a Warning Event and a slow retry; retryable ones are raised
for the work queue's backoff. It never deletes claims (the reconciler does).
"""

from __future__ import annotations

from eni.api.v1 import EIP_CLAIM, NODE_ENI_CONFIG, ClaimPhase, EIPClaim, NodeENIConfig
from eni.api.v1.errors import DecodeError
from eni.cloud.errors import CloudError, Conflict, QuotaExceeded
from eni.cloud.types import Eip, EipState
from eni.runtime import log as kvlog
from eni.runtime.client.errors import NotFoundError
from eni.runtime.meta import Obj, ObjectKey
from eni.runtime.reconcile import Result

from . import events
from .context import Deps
from .podview import PodView, eni_holding
from .settings import CLAIM_TAG_KEY

log = kvlog.get_logger(__name__)


class EipTakenError(Exception):
    """An EIP of eip-id-list was bound by someone else between our look and our associate; choose again."""


def intent_for(claim: EIPClaim) -> str:
    """The allocation intent of a claim: one EIP per claim uid, whatever the number of attempts."""
    return f"eipclaim {claim.metadata.uid}"


def allocated_for(claim: EIPClaim, eip: Eip) -> bool:
    """True when ``eip`` was allocated by us for ``claim`` (only those are ever released)."""
    return not claim.spec.eip_ids and bool(claim.metadata.uid) and eip.tags.get(CLAIM_TAG_KEY) == claim.metadata.uid


def bound_by(claim: EIPClaim, eip: Eip) -> bool:
    """True when ``eip`` is ours to unbind: allocated for the claim, or bound where the claim says it bound it."""
    if allocated_for(claim, eip):
        return True
    status = claim.status
    return eip.id == status.eip_id and bool(status.private_ip) and (eip.eni_id, eip.private_ip) == (
        status.eni_id, status.private_ip)


class Binder:
    """Associates a claim's EIP with its live pod."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    def bind(self, claim: EIPClaim, pod: Obj, view: PodView) -> Result:
        if view.host_network:
            self._d.pod_event(pod, events.UNSUPPORTED_POD, "a host-network pod has no ENI IP to bind an EIP to",
                              warning=True)
            self._pending(claim, "host-network pods cannot have an EIP")
            return Result()
        if not view.pod_ip or not view.node_name:
            self._pending(claim, "waiting for the pod's IP")
            return Result()
        eni_id = self._eni_of(view)
        if eni_id is None:
            self._pending(claim, f"waiting for {view.pod_ip} to show on an ENI of node {view.node_name}")
            return Result(requeue_after=self._d.settings.ip_wait_interval)
        status = claim.status
        if status.phase is ClaimPhase.BOUND and status.eip_id and (status.private_ip, status.eni_id) == (
                view.pod_ip, eni_id):
            self._d.writer.annotate_pod(pod, status.public_ip)
            return Result()
        try:
            return self._bind_in_cloud(claim, pod, view, eni_id)
        except CloudError as e:
            if e.retryable:
                raise
            self._d.pod_event(pod, events.EIP_CLOUD_ERROR, f"EIP for {view.pod_ip}: {e}", warning=True)
            self._pending(self._d.writer.get(claim.key) or claim, str(e))
            return Result(requeue_after=self._d.settings.error_retry_interval)

    def _eni_of(self, view: PodView) -> str | None:
        try:
            nec = NodeENIConfig.from_dict(self._d.reader.get(NODE_ENI_CONFIG, ObjectKey("", view.node_name)))
        except (NotFoundError, DecodeError):
            return None
        return eni_holding(nec, view.pod_ip)

    def _pending(self, claim: EIPClaim, message: str) -> EIPClaim:
        return self._d.writer.set_status(claim, phase=ClaimPhase.PENDING, message=message)

    def _bind_in_cloud(self, claim: EIPClaim, pod: Obj, view: PodView, eni_id: str) -> Result:
        found = self._ensure_eip(claim, pod, view, eni_id)
        if isinstance(found, Result):
            return found
        claim, eip = found
        if (eip.eni_id, eip.private_ip) != (eni_id, view.pod_ip):
            if eip.state is not EipState.UNBIND:
                if not bound_by(claim, eip):
                    message = f"EIP {eip.id} is bound to {eip.private_ip} on {eip.eni_id} by someone else"
                    self._d.pod_event(pod, events.EIP_UNAVAILABLE, message, warning=True)
                    self._pending(claim, message)
                    return Result(requeue_after=self._d.settings.error_retry_interval)
                self._d.cloud.disassociate(eip)
            try:
                self._d.cloud.associate(eip.id, eni_id=eni_id, private_ip=view.pod_ip)
            except Conflict as e:
                if claim.spec.eip_ids and claim.status.eip_id != eip.id:
                    raise EipTakenError(f"{eip.id} was taken meanwhile: {e}") from e
                raise
            log.info("Associated EIP", eip=eip.id, ip=view.pod_ip, eni=eni_id)
            self._d.pod_event(pod, events.EIP_ASSOCIATED,
                              f"EIP {eip.id} ({eip.public_ip}) associated with {view.pod_ip} on {eni_id}")
        self._d.writer.set_status(claim, phase=ClaimPhase.BOUND, eip_id=eip.id, public_ip=eip.public_ip,
                                  private_ip=view.pod_ip, eni_id=eni_id, released_time=None, message="")
        self._d.writer.annotate_pod(pod, eip.public_ip)
        return Result()

    def _ensure_eip(self, claim: EIPClaim, pod: Obj, view: PodView, eni_id: str) -> tuple[EIPClaim, Eip] | Result:
        """The claim's EIP (recorded, picked or newly allocated), or the Result to return when there is none."""
        if claim.status.eip_id:
            eip = self._d.cloud.describe([claim.status.eip_id]).get(claim.status.eip_id)
            if eip is not None:
                return claim, eip
            message = f"EIP {claim.status.eip_id} of the claim no longer exists"
            self._d.pod_event(pod, events.EIP_UNAVAILABLE, message, warning=True)
            self._d.writer.set_status(claim, phase=ClaimPhase.PENDING, eip_id="", public_ip="", private_ip="",
                                      eni_id="", message=message)
            return Result(requeue_after=self._d.settings.error_retry_interval)
        if claim.spec.eip_ids:
            chosen = self._choose(claim, pod, view, eni_id)
            return chosen if isinstance(chosen, Result) else (claim, chosen)
        allocated = self._allocate(claim, pod)
        if isinstance(allocated, Result):
            return allocated
        claim = self._d.writer.set_status(claim, phase=ClaimPhase.PENDING, eip_id=allocated.id,
                                          public_ip=allocated.public_ip, message="")
        return claim, allocated

    def _allocate(self, claim: EIPClaim, pod: Obj) -> Eip | Result:
        wait, cause = self._d.cloud.quota_wait()
        if wait > 0:
            return self._quota_blocked(claim, pod, cause, wait)
        tags = self._d.settings.cloud_tags(claim_uid=claim.metadata.uid, claim_key=str(claim.key))
        try:
            eip = self._d.cloud.allocate(intent=intent_for(claim), bandwidth=claim.spec.bandwidth,
                                         isp=claim.spec.isp.value, tags=tags)
        except QuotaExceeded:
            wait, cause = self._d.cloud.quota_wait()
            return self._quota_blocked(claim, pod, cause, wait)
        if eip is None:
            message = "the cloud returned no EIP for this claim's allocation; delete the EIPClaim to start over"
            self._d.pod_event(pod, events.EIP_CLOUD_ERROR, message, warning=True)
            self._pending(claim, message)
            return Result(requeue_after=self._d.settings.error_retry_interval)
        log.info("Allocated EIP", eip=eip.id, public_ip=eip.public_ip)
        self._d.pod_event(pod, events.EIP_ALLOCATED, f"EIP {eip.id} ({eip.public_ip}) allocated, "
                                                     f"{claim.spec.bandwidth} Mbps {claim.spec.isp.value}")
        return eip

    def _quota_blocked(self, claim: EIPClaim, pod: Obj, cause: str, wait: float) -> Result:
        interval = int(self._d.settings.quota_retry_interval)
        message = f"no EIP allocated, the account's EIP quota is used up; retrying every {interval}s ({cause})"
        self._d.pod_event(pod, events.EIP_QUOTA_EXCEEDED, message, warning=True)
        self._pending(claim, cause)
        return Result(requeue_after=wait)

    def _choose(self, claim: EIPClaim, pod: Obj, view: PodView, eni_id: str) -> Eip | Result:
        """The first EIP of eip-id-list that exists and is free (or already on this pod's IP)."""
        ids = claim.spec.eip_ids
        found = self._d.cloud.describe(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            return self._unavailable(claim, pod, f"eip-id-list names EIPs that do not exist: {', '.join(missing)}")
        taken = self._held_by_other_claims(claim)
        for eip_id in ids:
            eip = found[eip_id]
            if eip_id in taken:
                continue
            if (eip.eni_id, eip.private_ip) == (eni_id, view.pod_ip) or eip.state is EipState.UNBIND:
                return eip
        return self._unavailable(claim, pod, f"none of the EIPs in eip-id-list is free: {', '.join(ids)}")

    def _unavailable(self, claim: EIPClaim, pod: Obj, message: str) -> Result:
        self._d.pod_event(pod, events.EIP_UNAVAILABLE, message, warning=True)
        self._pending(claim, message)
        return Result(requeue_after=self._d.settings.error_retry_interval)

    def _held_by_other_claims(self, claim: EIPClaim) -> set[str]:
        held = set()
        for other in self._d.reader.list(EIP_CLAIM):
            if (other.get("metadata") or {}).get("uid") != claim.metadata.uid:
                eip_id = (other.get("status") or {}).get("eipId")
                if eip_id:
                    held.add(str(eip_id))
        return held
