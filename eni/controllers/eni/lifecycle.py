"""VpcENI lifecycle: create (intent first) -> Attaching -> Attached -> Detaching -> Deleting -> gone.

Crash safety: before ``create_eni`` the intent is written into the NEC (``nec.intents``) and the
cloud call carries it as its ClientToken; the VpcENI (with a finalizer) is written right after the
ENI exists and before it is attached; the intent is cleared only then. Every phase can be resumed
by ``resume``: a restarted ipamd repeats the call of the phase it finds, and "already done" replies
count as success. Removal walks Detaching -> Deleting and drops the record only once the cloud ENI
is gone. Never removes an ENI a caller has not chosen; never writes anything but its own records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eni.api.v1 import EniType, ObjectReference, VpcENI, VpcENIPhase, VpcENIStatus
from eni.cloud.errors import CloudError, Conflict, NotFound, QuotaExceeded
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import AttachType, Eni, EniId, InstanceId, SecurityGroupId, SubnetId
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.intents import PendingEni, eni_annotation, next_intent

from .records import Records

NODE_TAG = "tke-eni-node"
"""Tag naming the node an ENI was created for (next to the adapter's cluster tags)."""


class EniLifecycle:
    """Creates, attaches, detaches and deletes one node's ENIs, keeping VpcENIs in step."""

    def __init__(self, vpc: VpcApi, records: Records, calls: CloudCalls) -> None:
        self._vpc = vpc
        self._records = records
        self._calls = calls

    def create_and_attach(
        self, *, node: str, nec_uid: str, annotations: Mapping[str, str], instance_id: str, subnet_id: str,
        security_groups: Sequence[str], ip_count: int = 0,
    ) -> Eni:
        """A new ENI in ``subnet_id`` created with ``ip_count`` secondary IPs (one cloud task instead of a
        create and an assign), recorded with its IPs and attached to ``instance_id``."""
        intent, reserve = next_intent(nec_uid, annotations, "eni")
        pending = PendingEni(intent=intent, subnet_id=subnet_id, ip_count=ip_count)
        self._records.patch_nec_annotations(node, {**reserve, **eni_annotation(pending)})
        return self.finish_pending(pending, node=node, instance_id=instance_id, security_groups=security_groups)

    def create_direct(
        self, *, node: str, nec_uid: str, annotations: Mapping[str, str], instance_id: str, subnet_id: str,
        security_groups: Sequence[str], owner: ObjectReference | None = None,
    ) -> Eni:
        """A new exclusive ENI in ``subnet_id``, recorded (``type: direct``, ``ownerPod`` in static mode) but
        not attached yet: the caller attaches it and gives it back when the instance refuses it."""
        intent, reserve = next_intent(nec_uid, annotations, "eni")
        pending = PendingEni(intent=intent, subnet_id=subnet_id, direct=True,
                             owner=f"{owner.namespace}/{owner.name}" if owner is not None else "")
        self._records.patch_nec_annotations(node, {**reserve, **eni_annotation(pending)})
        return self._create(pending, node=node, instance_id=instance_id, security_groups=security_groups)

    def finish_pending(
        self, pending: PendingEni, *, node: str, instance_id: str, security_groups: Sequence[str]
    ) -> Eni:
        """Create (or, on replay, find) the intent's ENI, record it, clear the intent, attach it."""
        eni = self._create(pending, node=node, instance_id=instance_id, security_groups=security_groups)
        try:
            self.attach(eni.id, instance_id, direct=pending.direct)
        except QuotaExceeded:
            if pending.direct:  # the instance's extension-ENI quota: nothing to retry, nothing to keep
                self.remove(eni.id, instance_id)
            raise
        return eni

    def _create(self, pending: PendingEni, *, node: str, instance_id: str, security_groups: Sequence[str]) -> Eni:
        kind = "exclusive ENI" if pending.direct else "pool ENI"
        try:
            eni = self._calls.call("CreateNetworkInterface", lambda: self._vpc.create_eni(
                intent=pending.intent, subnet_id=SubnetId(pending.subnet_id),
                name=f"{node}-{'direct-' if pending.direct else ''}eni"[:60],
                security_group_ids=[SecurityGroupId(g) for g in security_groups], tags={NODE_TAG: node},
                secondary_ip_count=pending.ip_count, description=f"tke-eni {kind} of node {node}"))
        except CloudError as e:
            if not e.retryable:  # nothing was created: the next attempt takes a fresh intent
                self._records.patch_nec_annotations(node, eni_annotation(None))
            raise
        namespace, _, name = pending.owner.partition("/")
        self._records.record_eni(eni, node=node, instance_id=instance_id, phase=VpcENIPhase.ATTACHING,
                                 eni_type=EniType.DIRECT if pending.direct else EniType.ROUTE,
                                 owner_pod=ObjectReference(namespace=namespace, name=name) if name else None)
        self._records.record_ips([ip.address for ip in eni.secondary_ips], eni_id=eni.id, subnet_id=eni.subnet_id,
                                 node=node)
        self._records.patch_nec_annotations(node, eni_annotation(None))
        return eni

    def attach(self, eni_id: str, instance_id: str, *, direct: bool = False) -> None:
        """Attach the ENI to the instance: as an extension ENI (its own quota) when it is exclusive."""
        attach_type = AttachType.EXTENSION if direct else AttachType.STANDARD
        try:
            self._calls.call("AttachNetworkInterface", lambda: self._vpc.attach_eni(
                EniId(eni_id), InstanceId(instance_id), attach_type=attach_type))
        except Conflict:
            attached = self._vpc.describe_enis(eni_ids=[EniId(eni_id)])
            if not (attached and attached[0].attachment and attached[0].attachment.instance_id == instance_id):
                raise
        self._records.set_eni_status(eni_id, VpcENIStatus(phase=VpcENIPhase.ATTACHED,
                                                          attached_instance_id=instance_id))

    def detach(self, eni_id: str, instance_id: str) -> None:
        """Detach the ENI and keep it (and its record); already detached counts as done."""
        self._records.set_eni_phase(eni_id, VpcENIPhase.DETACHING)
        try:
            self._calls.call("DetachNetworkInterface",
                             lambda: self._vpc.detach_eni(EniId(eni_id), InstanceId(instance_id)))
        except (NotFound, Conflict):
            pass
        self._records.set_eni_phase(eni_id, VpcENIPhase.DETACHED)

    def resume(self, record: VpcENI, cloud: Eni | None, instance_id: str) -> bool:
        """Continue an interrupted phase; True when the ENI ends up attached to ``instance_id``."""
        phase = record.status.phase
        if cloud is None and phase not in (VpcENIPhase.CREATING,):
            # The ENI is not attached here: find it anywhere, or it is gone.
            found = self._vpc.describe_enis(eni_ids=[EniId(record.name)])
            cloud = found[0] if found else None
            if cloud is None:
                self._records.forget_eni(record.name)
                return False
        if phase in (VpcENIPhase.DETACHING, VpcENIPhase.DETACHED, VpcENIPhase.DELETING):
            self.remove(record.name, instance_id)
            return False
        if cloud is not None and cloud.attachment is not None and cloud.attachment.instance_id == instance_id:
            if phase is not VpcENIPhase.ATTACHED:
                self._records.set_eni_status(record.name, VpcENIStatus(
                    phase=VpcENIPhase.ATTACHED, mac=cloud.mac, primary_ip=cloud.primary_ip,
                    attached_instance_id=instance_id, device_index=cloud.attachment.device_index))
            return True
        if cloud is not None and cloud.attachment is None:
            self.attach(record.name, instance_id, direct=record.spec.type is EniType.DIRECT)
            return True
        return False

    def remove(self, eni_id: str, instance_id: str) -> None:
        """Detach (if attached), delete, then forget the ENI; each step tolerates a replay."""
        self._records.set_eni_phase(eni_id, VpcENIPhase.DETACHING)
        try:
            self._calls.call("DetachNetworkInterface",
                             lambda: self._vpc.detach_eni(EniId(eni_id), InstanceId(instance_id)))
        except (NotFound, Conflict):
            pass  # already detached (or gone): the delete below decides
        self._records.set_eni_phase(eni_id, VpcENIPhase.DELETING)
        try:
            self._calls.call("DeleteNetworkInterface", lambda: self._vpc.delete_eni(EniId(eni_id)))
        except NotFound:
            pass
        self._records.forget_eni(eni_id)
