"""KeptEniReclaimer: deletes exclusive ENIs kept for static pods once nobody should get them any more.

A kept ENI (VpcENI ``type: direct`` with ``spec.ownerPod`` and no ``spec.nodeName``; see ``keep``) is
reclaimed like a retained static IP (PRODUCT.md "Reclaim of retained static IPs and EIPs"):
- by hand: ``kubectl delete veni <id>`` — the finalizer holds the object until the cloud ENI is deleted;
- by expiry: the pod's ``claim-expired-duration``, else ``--claim-expired-duration``, counted from
  ``kept-since`` (never without either), and not while the next pod of that name is there;
- by cascade (``--enable-ownerref``): the workload the pod belonged to (``owner-workload``) is gone or was
  replaced by a new object of that name (not while the next pod of that name is there either);
- by a switch to non-static mode (``static=False``): no pod is given a kept ENI there (a pod of that name takes
  one from its node's warm pool), so every kept ENI is surplus and goes at once, as the retained IPs left on
  shared ENIs become surplus of their node's pool.
A controller over VpcENIs (``reconcile``, one per ENI, on the leader): a kept ENI is looked at when its
VpcENI changes, again when it is due to expire, and every ``recheck`` while its workload is followed.
``reclaim_once`` runs every VpcENI through it at once (tests, tools). An ENI the cloud shows attached is left
alone (a node pass is giving it to a pod). It never touches an ENI attached to a node.
"""

from __future__ import annotations

from dataclasses import dataclass

from eni.api.v1 import VPC_ENI, EniType, OwnerReference, VpcENI
from eni.api.v1.codec import format_duration
from eni.api.v1.errors import DecodeError
from eni.cloud.errors import NotFound
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers import events
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls, IpamdMetrics
from eni.controllers.static.claims import ClaimSettings
from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError, NotFoundError
from eni.runtime.client.interfaces import Client, Reader
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import POD, ObjectKey, ResourceKind
from eni.runtime.reconcile import Request, Result

from .keep import expiry, kept_since, owner_workload
from .pods import is_live, wants_direct_eni

log = kvlog.get_logger(__name__)

STATEFUL_SET = ResourceKind(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True)
DEPLOYMENT = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)


@dataclass(frozen=True, slots=True)
class Reclaimed:
    eni_id: str
    reason: str


class KeptEniReclaimer:
    """The reconciler of kept exclusive ENIs (see the module docstring)."""

    def __init__(self, *, client: Client, reader: Reader, vpc: VpcApi, settings: ClaimSettings, recheck: float,
                 metrics: IpamdMetrics, recorder: EventRecorder, clock: Clock = REAL_CLOCK,
                 static: bool = True) -> None:
        if recheck <= 0:
            raise ValueError("recheck must be > 0")
        self._static = static
        self._client = client
        self._reader = reader
        self._vpc = vpc
        self._records = Records(client)
        self._settings = settings
        self._recheck = recheck
        self._calls = CloudCalls(metrics)
        self._recorder = recorder
        self._clock = clock

    def reconcile(self, request: Request) -> Result:
        try:
            record = VpcENI.from_dict(self._reader.get(VPC_ENI, ObjectKey("", request.name)))
        except (NotFoundError, DecodeError):
            return Result()
        if record.spec.type is not EniType.DIRECT or record.spec.owner_pod is None or record.spec.node_name:
            return Result()  # not kept: a node pass looks after it
        reason, wait = self._reason(record)
        if not reason:
            return Result(requeue_after=wait) if wait else Result()
        if self._delete(record):
            self._recorder.event(record.to_dict(), reason=events.ENI_RECLAIMED, kind=VPC_ENI,
                                 message=f"deleted kept exclusive ENI {record.name}: {reason}")
            log.info("Reclaimed kept exclusive ENI", eni=record.name, reason=reason)
            return Result()
        return Result(requeue_after=self._recheck)

    def reclaim_once(self) -> list[Reclaimed]:
        """Every VpcENI through ``reconcile`` now; the kept ENIs it deleted, with why."""
        due = []
        for record in self._records.all_enis():
            reason = self._reason(record)[0] if record.spec.owner_pod is not None else ""
            self.reconcile(Request(namespace="", name=record.name))
            due.append(Reclaimed(record.name, reason))
        remaining = {record.name for record in self._records.all_enis()}
        return [r for r in due if r.reason and r.eni_id not in remaining]

    def _reason(self, record: VpcENI) -> tuple[str, float | None]:
        """Why the kept ENI goes now (empty: it stays), and in how many seconds to look again."""
        if record.metadata.deletion_timestamp is not None:
            return "the VpcENI was deleted", None
        if not self._static:
            return "ipamd is not in static-IP mode, where no pod gets a kept ENI again", None
        if self._pod_waits(record):
            return "", self._recheck  # the next pod of that name is there: a node pass attaches the ENI to it
        wait: float | None = None
        duration = expiry(record, self._settings.claim_expired_duration)
        since = kept_since(record)
        if duration is not None and since is not None:
            remaining = (since + duration - self._clock.now()).total_seconds()
            if remaining <= 0:
                return f"kept longer than {format_duration(duration)}", None
            wait = remaining
        owner = owner_workload(record) if self._settings.enable_ownerref else None
        pod = record.spec.owner_pod
        if owner is not None and pod is not None:
            if self._workload_gone(owner, pod.namespace):
                return f"its {owner.kind} {pod.namespace}/{owner.name} is gone", None
            wait = min(wait, self._recheck) if wait is not None else self._recheck
        return "", wait

    def _pod_waits(self, record: VpcENI) -> bool:
        pod = record.spec.owner_pod
        if pod is None:
            return False
        try:
            found = self._reader.get(POD, ObjectKey(pod.namespace, pod.name))
        except NotFoundError:
            return False
        return wants_direct_eni(found) and is_live(found)

    def _workload_gone(self, owner: OwnerReference, namespace: str) -> bool:
        """Whether the workload is gone; the ones a kept ENI can follow are those ``workload_owner`` names (a
        ReplicaSet's pods follow its Deployment). Any other kind, or a failed read, never reclaims."""
        for kind in (STATEFUL_SET, DEPLOYMENT):
            if (kind.api_version, kind.kind) != (owner.api_version, owner.kind):
                continue
            try:
                found = self._client.get(kind, ObjectKey(namespace, owner.name))
            except NotFoundError:
                return True
            except ApiError as e:
                log.warning("Cannot read the workload of a kept exclusive ENI", kind=owner.kind, name=owner.name,
                            error=str(e))
                return False
            return str((found.get("metadata") or {}).get("uid") or "") != owner.uid
        return False

    def _delete(self, record: VpcENI) -> bool:
        """Delete the cloud ENI unless it is attached, then the record; True when both are gone."""
        found = self._vpc.describe_enis(eni_ids=[EniId(record.name)])
        if found and found[0].attachment is not None:
            return False
        try:
            self._calls.call("DeleteNetworkInterface", lambda: self._vpc.delete_eni(EniId(record.name)))
        except NotFound:
            pass
        self._records.forget_eni(record.name)
        return True
