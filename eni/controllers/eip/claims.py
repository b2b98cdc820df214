"""ClaimWriter: every write the EIP controller makes to EIPClaims and pods, in one place.

Status goes through the status subresource as a merge patch that replaces every field (so stale
values never survive); spec and finalizer changes are merge patches of just those fields; the pod
gets only the eip-public-ip annotation. Writes of a value already there are skipped, so a
reconcile that changes nothing writes nothing (and wakes no watcher). It never calls the cloud.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from eni.api.v1 import EIP_CLAIM, EIPClaim, EIPClaimStatus
from eni.api.v1.constants import ANNOTATION_EIP_PUBLIC_IP, FINALIZER_EIP_CLAIM
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client, Preconditions
from eni.runtime.meta import POD, Obj, ObjectKey


class ClaimWriter:
    """Writes claims and pod annotations through ``client``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, key: ObjectKey) -> EIPClaim | None:
        """The claim as the API server has it now (not a cached copy), or None."""
        try:
            return EIPClaim.from_dict(self._client.get(EIP_CLAIM, key))
        except NotFoundError:
            return None

    def create(self, claim: EIPClaim) -> EIPClaim:
        return EIPClaim.from_dict(self._client.create(EIP_CLAIM, claim.to_dict()))

    def set_status(self, claim: EIPClaim, **changes: Any) -> EIPClaim:
        """Write ``claim``'s status with ``changes`` applied; returns the claim as written."""
        status: EIPClaimStatus = dataclasses.replace(claim.status, **changes)
        if status == claim.status:
            return claim
        patch = dataclasses.replace(claim, status=status).status_patch()
        return EIPClaim.from_dict(self._client.patch(EIP_CLAIM, claim.key, patch, subresource="status"))

    def patch_spec(self, claim: EIPClaim, spec_patch: Mapping[str, Any]) -> EIPClaim:
        """Merge ``spec_patch`` (wire names) into the claim's spec, guarded by its resourceVersion."""
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version}, "spec": dict(spec_patch)}
        return EIPClaim.from_dict(self._client.patch(EIP_CLAIM, claim.key, patch))

    def delete(self, claim: EIPClaim) -> None:
        """Delete the claim (its finalizer keeps it until the EIP is given back); gone already is fine."""
        try:
            self._client.delete(EIP_CLAIM, claim.key, preconditions=Preconditions(uid=claim.metadata.uid))
        except NotFoundError:
            pass

    def add_finalizer(self, claim: EIPClaim) -> EIPClaim:
        """Make sure the claim cannot vanish before its EIP has been given back."""
        if FINALIZER_EIP_CLAIM in claim.metadata.finalizers:
            return claim
        finalizers = [*claim.metadata.finalizers, FINALIZER_EIP_CLAIM]
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version, "finalizers": finalizers}}
        return EIPClaim.from_dict(self._client.patch(EIP_CLAIM, claim.key, patch))

    def remove_finalizer(self, claim: EIPClaim) -> None:
        """Let the API server forget the claim: its EIP has been given back."""
        if FINALIZER_EIP_CLAIM not in claim.metadata.finalizers:
            return
        rest = [f for f in claim.metadata.finalizers if f != FINALIZER_EIP_CLAIM]
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version, "finalizers": rest or None}}
        try:
            self._client.patch(EIP_CLAIM, claim.key, patch)
        except NotFoundError:
            pass

    def annotate_pod(self, pod: Obj, public_ip: str | None) -> None:
        """Publish the EIP's address on the pod (tke.cloud.tencent.com/eip-public-ip); None removes it."""
        metadata = pod.get("metadata") or {}
        if (metadata.get("annotations") or {}).get(ANNOTATION_EIP_PUBLIC_IP) == public_ip:
            return
        key = ObjectKey(str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        patch = {"metadata": {"annotations": {ANNOTATION_EIP_PUBLIC_IP: public_ip}}}
        try:
            self._client.patch(POD, key, patch)
        except NotFoundError:
            pass
