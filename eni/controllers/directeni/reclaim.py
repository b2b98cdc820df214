"""KeptEniReclaimer: deletes exclusive ENIs kept for static pods once nobody should get them any more.

A kept ENI (VpcENI ``type: direct`` with ``spec.ownerPod`` and no ``spec.nodeName``; see ``keep``) is
reclaimed like a retained static IP (PRODUCT.md "Reclaim of retained static IPs and EIPs"):
- by hand: ``kubectl delete veni <id>`` — the finalizer holds the object until the cloud ENI is deleted;
- by expiry: the pod's ``claim-expired-duration``, else ``--claim-expired-duration``, counted from
  ``kept-since`` (never without either);
- by cascade (``--enable-ownerref``): the workload the pod belonged to (``owner-workload``) is gone or was
  replaced by a new object of that name.
Each pass (``reclaim_once``, every ``interval`` on the leader) lists the VpcENIs; an ENI the cloud shows
attached is left alone (a node pass is giving it to a pod). It never touches an ENI attached to a node.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eni.api.v1 import VPC_ENI, EniType, OwnerReference, VpcENI
from eni.api.v1.codec import format_duration
from eni.cloud.errors import CloudError, NotFound
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers import events
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls, IpamdMetrics
from eni.controllers.static.claims import ClaimSettings
from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError, NotFoundError
from eni.runtime.client.interfaces import Client
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.events import EventRecorder
from eni.runtime.meta import ObjectKey, ResourceKind

from .keep import expiry, kept_since, owner_workload

log = kvlog.get_logger(__name__)

STATEFUL_SET = ResourceKind(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True)
DEPLOYMENT = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)


@dataclass(frozen=True, slots=True)
class Reclaimed:
    eni_id: str
    reason: str


class KeptEniReclaimer:
    """A leader Runnable (``start``) and a single pass (``reclaim_once``) for tests."""

    def __init__(self, *, client: Client, vpc: VpcApi, settings: ClaimSettings, interval: float,
                 metrics: IpamdMetrics, recorder: EventRecorder, clock: Clock = REAL_CLOCK) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self._client = client
        self._vpc = vpc
        self._records = Records(client)
        self._settings = settings
        self._interval = interval
        self._calls = CloudCalls(metrics)
        self._recorder = recorder
        self._clock = clock

    def need_leader_election(self) -> bool:
        return True

    def start(self, stop: threading.Event) -> None:
        while not self._clock.wait(stop, self._interval):
            try:
                self.reclaim_once()
            except (CloudError, ApiError) as e:
                log.warning("Reclaim of kept exclusive ENIs failed; next pass retries", error=str(e))

    def reclaim_once(self) -> list[Reclaimed]:
        done = []
        for record in self._records.all_enis():
            if record.spec.type is not EniType.DIRECT or record.spec.owner_pod is None or record.spec.node_name:
                continue
            reason = self._reason(record)
            if reason and self._delete(record):
                done.append(Reclaimed(record.name, reason))
                self._recorder.event(record.to_dict(), reason=events.ENI_RECLAIMED, kind=VPC_ENI,
                                     message=f"deleted kept exclusive ENI {record.name}: {reason}")
                log.info("Reclaimed kept exclusive ENI", eni=record.name, reason=reason)
        return done

    def _reason(self, record: VpcENI) -> str:
        if record.metadata.deletion_timestamp is not None:
            return "the VpcENI was deleted"
        duration = expiry(record, self._settings.claim_expired_duration)
        since = kept_since(record)
        if duration is not None and since is not None and self._clock.now() - since >= duration:
            return f"kept longer than {format_duration(duration)}"
        owner = owner_workload(record) if self._settings.enable_ownerref else None
        pod = record.spec.owner_pod
        if owner is not None and pod is not None and self._workload_gone(owner, pod.namespace):
            return f"its {owner.kind} {pod.namespace}/{owner.name} is gone"
        return ""

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
