"""VpcIPClaimWriter: every write static mode makes to VpcIPClaims, in one place.

Two parts write a claim's status — the claim reconciler (phase Retained/Expired, releasedTime) and
the node pass (ip, subnet, ENI, node, phase Bound, message) — so a status write is a merge patch of
exactly the fields that changed, never a replace of the whole status from a stale copy. Spec and
finalizer changes are guarded by the resourceVersion. Writes of a value already there are skipped.
It never calls the cloud.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from eni.api.v1 import VPC_IP_CLAIM, VpcIPClaim, VpcIPClaimStatus
from eni.api.v1.codec import encode_replacing
from eni.api.v1.constants import FINALIZER_VPC_IP_CLAIM
from eni.api.v1.errors import DecodeError
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Client, Preconditions, Reader
from eni.runtime.meta import ObjectKey


def decode_claim(obj: Mapping[str, Any]) -> VpcIPClaim | None:
    """The claim, or None for a hand-edited object that cannot be read (left alone)."""
    try:
        return VpcIPClaim.from_dict(obj)
    except DecodeError:
        return None


class VpcIPClaimWriter:
    """Reads claims live and writes them through ``client``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, key: ObjectKey) -> VpcIPClaim | None:
        """The claim as the API server has it now (not a cached copy), or None."""
        try:
            return decode_claim(self._client.get(VPC_IP_CLAIM, key))
        except NotFoundError:
            return None

    def cached(self, reader: Reader, key: ObjectKey) -> VpcIPClaim | None:
        try:
            return decode_claim(reader.get(VPC_IP_CLAIM, key))
        except NotFoundError:
            return None

    def create(self, claim: VpcIPClaim) -> VpcIPClaim:
        created = decode_claim(self._client.create(VPC_IP_CLAIM, claim.to_dict()))
        if created is None:
            raise RuntimeError(f"VpcIPClaim {claim.key} came back unreadable")
        return created

    def set_status(self, claim: VpcIPClaim, **changes: Any) -> VpcIPClaim:
        """Write the status fields in ``changes`` (and only those); returns the claim as written."""
        status: VpcIPClaimStatus = dataclasses.replace(claim.status, **changes)
        if status == claim.status:
            return claim
        old, new = encode_replacing(claim.status), encode_replacing(status)
        patch = {"status": {k: v for k, v in new.items() if old.get(k) != v}}
        try:
            written = decode_claim(self._client.patch(VPC_IP_CLAIM, claim.key, patch, subresource="status"))
        except NotFoundError:
            return dataclasses.replace(claim, status=status)
        return written or dataclasses.replace(claim, status=status)

    def patch_spec(self, claim: VpcIPClaim, spec_patch: Mapping[str, Any]) -> VpcIPClaim:
        """Merge ``spec_patch`` (wire names) into the spec, guarded by the claim's resourceVersion."""
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version}, "spec": dict(spec_patch)}
        written = decode_claim(self._client.patch(VPC_IP_CLAIM, claim.key, patch))
        return written or claim

    def delete(self, claim: VpcIPClaim) -> None:
        """Delete the claim (its finalizer keeps it until the IP is back in the VPC); gone already is fine."""
        try:
            self._client.delete(VPC_IP_CLAIM, claim.key, preconditions=Preconditions(uid=claim.metadata.uid))
        except NotFoundError:
            pass

    def add_finalizer(self, claim: VpcIPClaim) -> VpcIPClaim:
        if FINALIZER_VPC_IP_CLAIM in claim.metadata.finalizers:
            return claim
        finalizers = [*claim.metadata.finalizers, FINALIZER_VPC_IP_CLAIM]
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version, "finalizers": finalizers}}
        return decode_claim(self._client.patch(VPC_IP_CLAIM, claim.key, patch)) or claim

    def remove_finalizer(self, claim: VpcIPClaim) -> None:
        """Let the API server forget the claim: its IP is back in the VPC."""
        if FINALIZER_VPC_IP_CLAIM not in claim.metadata.finalizers:
            return
        rest = [f for f in claim.metadata.finalizers if f != FINALIZER_VPC_IP_CLAIM]
        patch = {"metadata": {"resourceVersion": claim.metadata.resource_version, "finalizers": rest or None}}
        try:
            self._client.patch(VPC_IP_CLAIM, claim.key, patch)
        except NotFoundError:
            pass
