"""The workload that owns a pod's EIPClaim when ``--enable-ownerref`` is on.

A claim outlives its pods (delete policy Never) but must go with the workload: a StatefulSet's pods
name it directly; a ReplicaSet's pods resolve to the ReplicaSet's Deployment (a rollout replaces the
ReplicaSet, and the claim must not go with it). Any other controller owner is used as it is. The one
read here is of that ReplicaSet (from the informer cache in ipamd); it never writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eni.api.v1 import OwnerReference
from eni.runtime import log as kvlog
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Reader
from eni.runtime.meta import ObjectKey, ResourceKind, controller_owner

log = kvlog.get_logger(__name__)

REPLICA_SET = ResourceKind(group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True,
                           short_names=("rs",))


def _reference(ref: Mapping[str, Any]) -> OwnerReference | None:
    values = [str(ref.get(k) or "") for k in ("apiVersion", "kind", "name", "uid")]
    if not all(values):
        return None
    api_version, kind, name, uid = values
    return OwnerReference(api_version=api_version, kind=kind, name=name, uid=uid)


def workload_owner(pod: Mapping[str, Any], reader: Reader) -> OwnerReference | None:
    """The owner reference a claim of ``pod`` gets, or None when the pod has no workload."""
    ref = controller_owner(pod)
    if ref is None:
        return None
    if ref.get("kind") != REPLICA_SET.kind or ref.get("apiVersion") != REPLICA_SET.api_version:
        return _reference(ref)
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    try:
        replica_set = reader.get(REPLICA_SET, ObjectKey(namespace, str(ref.get("name") or "")))
    except NotFoundError:
        log.info("ReplicaSet of pod not found; claim gets no owner", replicaset=ref.get("name"))
        return None
    deployment = controller_owner(replica_set)
    return _reference(deployment if deployment is not None else ref)
