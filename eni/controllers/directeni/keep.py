"""Static-IP mode: keeping a pod's exclusive ENI detached for the next pod of that name, and giving it again.

What the VpcENI of a static pod's exclusive ENI carries besides ``spec.ownerPod``, copied from the pod while
it lives (so the decision can be made once the pod is gone):
- ``vpc-ip-claim-delete-policy`` and ``claim-expired-duration``: the pod's own annotations;
- ``owner-workload`` (``--enable-ownerref``): the pod's workload, JSON ``{apiVersion, kind, name, uid}`` in
  the pod's namespace (a cluster-scoped object cannot carry a namespaced owner reference);
- ``kept-since``: set when ipamd starts keeping the ENI, before the detach, so a restart finishes the keep
  (detach, then ``spec.nodeName``/``instanceId`` and the node label cleared, phase Detached) instead of
  mistaking it for an interrupted removal.
``KeptEnis`` performs keep and re-attach; each step is idempotent. It never deletes an ENI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from eni.api.v1 import DeletePolicy, OwnerReference, VpcENI, VpcENIPhase
from eni.api.v1.codec import format_time, parse_time
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY,
    LABEL_NODE_NAME,
    PREFIX,
    parse_claim_expired_duration,
    parse_vpc_ip_claim_delete_policy,
)
from eni.api.v1.errors import AnnotationError
from eni.cloud.errors import CloudError
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records

ANNOTATION_KEPT_SINCE = PREFIX + "kept-since"
ANNOTATION_OWNER_WORKLOAD = PREFIX + "owner-workload"
POD_ANNOTATIONS = (ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY, ANNOTATION_CLAIM_EXPIRED_DURATION)


def being_kept(record: VpcENI) -> bool:
    """True once ipamd started keeping the ENI for its pod (until a pod gets it again)."""
    return ANNOTATION_KEPT_SINCE in record.metadata.annotations


def kept_since(record: VpcENI) -> datetime | None:
    try:
        return parse_time(record.metadata.annotations[ANNOTATION_KEPT_SINCE])
    except (KeyError, ValueError):
        return None


def keeps(record: VpcENI) -> bool:
    """Whether the ENI outlives its pod: a static pod's ENI with delete policy Never, not being deleted."""
    if record.spec.owner_pod is None or record.metadata.deletion_timestamp is not None:
        return False
    try:
        return parse_vpc_ip_claim_delete_policy(record.metadata.annotations) is DeletePolicy.NEVER
    except AnnotationError:
        return False


def expiry(record: VpcENI, default: timedelta | None) -> timedelta | None:
    """How long a kept ENI outlives its pod: the pod's claim-expired-duration, else ``default`` (None: forever)."""
    try:
        return parse_claim_expired_duration(record.metadata.annotations) or default
    except AnnotationError:
        return default


def owner_workload(record: VpcENI) -> OwnerReference | None:
    raw = record.metadata.annotations.get(ANNOTATION_OWNER_WORKLOAD)
    try:
        fields = json.loads(raw) if raw else None
        return None if not isinstance(fields, dict) else OwnerReference(
            api_version=str(fields["apiVersion"]), kind=str(fields["kind"]), name=str(fields["name"]),
            uid=str(fields["uid"]))
    except (ValueError, KeyError):
        return None


def record_annotations(pod_annotations: Mapping[str, str], owner: OwnerReference | None) -> dict[str, str | None]:
    """The annotations the VpcENI should carry for a live pod (None removes a key)."""
    wanted: dict[str, str | None] = {key: pod_annotations.get(key) for key in POD_ANNOTATIONS}
    wanted[ANNOTATION_OWNER_WORKLOAD] = None if owner is None else json.dumps(
        {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid}, sort_keys=True)
    return wanted


def annotation_changes(record: VpcENI, wanted: Mapping[str, str | None]) -> dict[str, str | None]:
    have = record.metadata.annotations
    return {k: v for k, v in wanted.items() if have.get(k) != v}


class KeptEnis:
    """Keeps exclusive ENIs detached for their pod and attaches them again to the pod's new node."""

    def __init__(self, *, vpc: VpcApi, records: Records, enis: EniLifecycle) -> None:
        self._vpc = vpc
        self._records = records
        self._enis = enis

    def keep(self, record: VpcENI, *, instance_id: str, now: datetime) -> None:
        """Start (or resume) keeping: mark, detach from ``instance_id``, then unbind the record from the node."""
        if not being_kept(record):
            self._records.patch_eni(record.name, annotations={ANNOTATION_KEPT_SINCE: format_time(now)})
        self._enis.detach(record.name, instance_id)
        self._records.patch_eni(record.name, spec={"nodeName": None, "instanceId": None, "ownerPod": {"uid": None}},
                                labels={LABEL_NODE_NAME: None})

    def finish(self, record: VpcENI, *, now: datetime) -> None:
        """Finish an interrupted keep: detach from wherever the cloud shows it, unbind the record."""
        found = self._vpc.describe_enis(eni_ids=[EniId(record.name)])
        if not found:
            self._records.forget_eni(record.name)  # gone in the cloud: nothing left to keep
            return
        where = found[0].attachment.instance_id if found[0].attachment else record.spec.instance_id
        self.keep(record, instance_id=where, now=kept_since(record) or now)

    def attach(self, record: VpcENI, *, node: str, instance_id: str, pod_uid: str,
               annotations: Mapping[str, str | None]) -> None:
        """Give a kept ENI to its pod's new node; on a cloud refusal it is kept again and the error raised."""
        owner = record.spec.owner_pod
        spec: dict[str, Any] = {"nodeName": node, "instanceId": instance_id}
        if owner is not None:
            spec["ownerPod"] = {"namespace": owner.namespace, "name": owner.name, "uid": pod_uid}
        # Attaching first, while still kept: a restart in between must resume the attach, never take the
        # node's record in phase Detached for an interrupted removal.
        self._records.set_eni_phase(record.name, VpcENIPhase.ATTACHING)
        self._records.patch_eni(record.name, spec=spec, labels={LABEL_NODE_NAME: node},
                                annotations={**annotations, ANNOTATION_KEPT_SINCE: None})
        try:
            self._enis.attach(record.name, instance_id, direct=True)
        except CloudError:
            since = record.metadata.annotations.get(ANNOTATION_KEPT_SINCE) or format_time(datetime.now(UTC))
            self._records.patch_eni(record.name, spec={"nodeName": None, "instanceId": None},
                                    labels={LABEL_NODE_NAME: None}, annotations={ANNOTATION_KEPT_SINCE: since})
            self._records.set_eni_phase(record.name, VpcENIPhase.DETACHED)
            raise
