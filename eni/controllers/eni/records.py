"""Reads and writes of the VpcENI and VpcIP objects that mirror the cloud, and of NEC metadata.

Ordering that keeps the cluster crash-safe: a VpcENI is written as soon as its ENI exists (before it
is attached), with a finalizer, and removed only after the cloud ENI is deleted; a VpcIP is written
right after its IP is assigned (the pending intent on the NEC covers the gap) and removed only after
the IP is unassigned. Writes are idempotent (AlreadyExists / NotFound are success) so a retried
reconcile never fails on its own earlier half.

A VpcIP is named by its address, and the cloud hands out an address another node has just given back
at once, possibly before that node has removed its record. So a VpcIP found naming another ENI when
the cloud has just shown the address on this one is stale and is re-homed here, and a removal after an
unassign only removes records that still name the ENI the address left, each delete guarded by the
resourceVersion it was decided on: neither side ever removes the other's record. This module never
calls the cloud.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    VPC_ENI,
    VPC_IP,
    EniType,
    ObjectMeta,
    ObjectReference,
    VpcENI,
    VpcENIPhase,
    VpcENISpec,
    VpcENIStatus,
    VpcIP,
    VpcIPPhase,
    VpcIPSpec,
    VpcIPStatus,
    VpcIPType,
)
from eni.api.v1.constants import FINALIZER_VPC_ENI, LABEL_NODE_NAME
from eni.api.v1.errors import DecodeError
from eni.cloud.types import Eni
from eni.runtime import log as kvlog
from eni.runtime.client.errors import AlreadyExistsError, ConflictError, NotFoundError
from eni.runtime.client.interfaces import Client, Preconditions
from eni.runtime.meta import ObjectKey

log = kvlog.get_logger(__name__)

WRITE_ATTEMPTS = 4
"""Tries of one guarded VpcIP write that races another node's write of the same address."""


def _key(name: str) -> ObjectKey:
    return ObjectKey(namespace="", name=name)


class Records:
    """VpcENI / VpcIP / NEC-metadata writes for ipamd; thread-safe as its client is."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ---- reads (live: the reconciler must see its own last writes) --------------------------------

    def enis_of(self, node: str) -> list[VpcENI]:
        return _decode_all(VpcENI, self.client.list(VPC_ENI, label_selector=f"{LABEL_NODE_NAME}={node}"))

    def ips_of(self, node: str) -> list[VpcIP]:
        return _decode_all(VpcIP, self.client.list(VPC_IP, label_selector=f"{LABEL_NODE_NAME}={node}"))

    def all_enis(self) -> list[VpcENI]:
        return _decode_all(VpcENI, self.client.list(VPC_ENI))

    def all_ips(self) -> list[VpcIP]:
        return _decode_all(VpcIP, self.client.list(VPC_IP))

    # ---- VpcENI ---------------------------------------------------------------------------------

    def record_eni(self, eni: Eni, *, node: str, instance_id: str, phase: VpcENIPhase,
                   eni_type: EniType = EniType.ROUTE, owner_pod: ObjectReference | None = None) -> None:
        """Write the VpcENI of a just-created ENI (finalizer included); an existing one gets the phase."""
        obj = VpcENI(
            metadata=ObjectMeta(name=eni.id, labels={LABEL_NODE_NAME: node}, finalizers=(FINALIZER_VPC_ENI,)),
            spec=VpcENISpec(subnet_id=eni.subnet_id, node_name=node, instance_id=instance_id, type=eni_type,
                            security_group_ids=tuple(eni.security_group_ids), owner_pod=owner_pod),
        )
        try:
            self.client.create(VPC_ENI, obj.to_dict())
        except AlreadyExistsError:
            pass
        self.set_eni_status(eni.id, VpcENIStatus(phase=phase, mac=eni.mac, primary_ip=eni.primary_ip))

    def set_eni_status(self, eni_id: str, status: VpcENIStatus) -> None:
        patch: dict[str, Any] = {"status": {k: v for k, v in {
            "phase": status.phase.value if status.phase else None, "mac": status.mac or None,
            "primaryIP": status.primary_ip or None, "attachedInstanceId": status.attached_instance_id or None,
            "deviceIndex": status.device_index, "message": status.message or None,
        }.items() if v is not None}}
        self.client.patch(VPC_ENI, _key(eni_id), patch, subresource="status")

    def set_eni_phase(self, eni_id: str, phase: VpcENIPhase, *, message: str = "") -> None:
        self.client.patch(VPC_ENI, _key(eni_id), {"status": {"phase": phase.value, "message": message or None}},
                          subresource="status")

    def patch_eni(self, eni_id: str, *, spec: Mapping[str, Any] | None = None,
                  labels: Mapping[str, str | None] | None = None,
                  annotations: Mapping[str, str | None] | None = None) -> None:
        """Merge-patch a VpcENI's spec fields (wire names), labels and annotations (None removes a key)."""
        patch: dict[str, Any] = {}
        if spec:
            patch["spec"] = dict(spec)
        metadata = {k: dict(v) for k, v in (("labels", labels), ("annotations", annotations)) if v}
        if metadata:
            patch["metadata"] = metadata
        if patch:
            self.client.patch(VPC_ENI, _key(eni_id), patch)

    def forget_eni(self, eni_id: str) -> None:
        """Drop the finalizer and delete the VpcENI; call only once the cloud ENI is gone."""
        try:
            self.client.patch(VPC_ENI, _key(eni_id), {"metadata": {"finalizers": None}})
            self.client.delete(VPC_ENI, _key(eni_id))
        except NotFoundError:
            pass

    # ---- VpcIP ----------------------------------------------------------------------------------

    def record_ips(self, addresses: Iterable[str], *, eni_id: str, subnet_id: str, node: str) -> None:
        """Record addresses the cloud has just shown on ``eni_id``; a record naming another ENI is re-homed."""
        for address in addresses:
            self._record_ip(address, eni_id=eni_id, subnet_id=subnet_id, node=node)
            self.set_ip_phase(address, VpcIPPhase.ASSIGNED)
            log.info("Recorded IP", ip=address, eni=eni_id, node=node)

    def _record_ip(self, address: str, *, eni_id: str, subnet_id: str, node: str) -> None:
        obj = VpcIP(metadata=ObjectMeta(name=address, labels={LABEL_NODE_NAME: node}),
                    spec=VpcIPSpec(subnet_id=subnet_id, eni_id=eni_id, node_name=node))
        for _ in range(WRITE_ATTEMPTS):
            try:
                self.client.create(VPC_IP, obj.to_dict())
                return
            except AlreadyExistsError:
                pass
            current = self.get_ip(address)
            if current is None:
                continue  # removed since: create it again
            if current.spec.eni_id == eni_id:
                return  # this ENI's own record: an earlier half of this call, or a replay
            # The ENI it names gave the address back and has not removed its record yet: the address is here now.
            # A pool record, as any new one: the claim it named held the address on that other ENI.
            try:
                self.client.patch(VPC_IP, _key(address), {
                    "metadata": {"labels": {LABEL_NODE_NAME: node},
                                 "resourceVersion": current.metadata.resource_version},
                    "spec": {"subnetId": subnet_id, "eniId": eni_id, "nodeName": node,
                             "type": VpcIPType.POOL.value, "claimRef": None}})
            except (ConflictError, NotFoundError):
                continue  # changed or removed since it was read: look again
            log.info("Re-homed IP record", ip=address, eni=eni_id, node=node, previous_eni=current.spec.eni_id,
                     previous_node=current.spec.node_name)
            return
        raise ConflictError(409, "Conflict", f"VpcIP {address} kept changing while it was recorded on {eni_id}")

    def get_ip(self, address: str) -> VpcIP | None:
        """The VpcIP of ``address`` (live), or None when there is none."""
        try:
            return VpcIP.from_dict(self.client.get(VPC_IP, _key(address)))
        except NotFoundError:
            return None

    def set_ip_phase(self, address: str, phase: VpcIPPhase, *, message: str = "") -> None:
        status = VpcIPStatus(phase=phase, message=message)
        self.client.patch(VPC_IP, _key(address), VpcIP(metadata=ObjectMeta(name=address),
                                                       spec=VpcIPSpec(subnet_id=""), status=status).status_patch(),
                          subresource="status")

    def forget_ips(self, addresses: Iterable[str], *, eni_id: str) -> None:
        """Delete the VpcIPs of addresses unassigned from ``eni_id``; call only once the cloud shows them gone.

        A record that names another ENI now is kept: the cloud has handed the address out again since."""
        for address in addresses:
            for _ in range(WRITE_ATTEMPTS):
                current = self.get_ip(address)
                if current is None:
                    break
                if current.spec.eni_id != eni_id:
                    log.info("Kept IP record of another ENI", ip=address, eni=current.spec.eni_id, left=eni_id)
                    break
                if self._delete_ip(current):
                    break

    def forget_records(self, records: Iterable[VpcIP]) -> None:
        """Delete these VpcIPs as they were read; one changed since (re-homed, re-claimed) is kept for the next
        look. Call only once the cloud no longer holds their addresses where they say."""
        for record in records:
            self._delete_ip(record)

    def _delete_ip(self, record: VpcIP) -> bool:
        """Delete ``record`` unless it changed since it was read; False when it did."""
        try:
            self.client.delete(VPC_IP, _key(record.name),
                               preconditions=Preconditions(resource_version=record.metadata.resource_version or None))
        except NotFoundError:
            return True
        except ConflictError:
            return False
        log.info("Forgot IP record", ip=record.name, eni=record.spec.eni_id, node=record.spec.node_name)
        return True

    # ---- NEC metadata ---------------------------------------------------------------------------

    def patch_nec_annotations(self, node: str, annotations: Mapping[str, str | None]) -> None:
        self.client.patch(NODE_ENI_CONFIG, _key(node), {"metadata": {"annotations": dict(annotations)}})


def _decode_all(kind_class: Any, objects: Iterable[Mapping[str, Any]]) -> list[Any]:
    decoded = []
    for obj in objects:
        try:
            decoded.append(kind_class.from_dict(obj))
        except DecodeError:
            continue  # a hand-edited object ipamd cannot read is left alone rather than crash the loop
    return decoded
