"""Reads and writes of the VpcENI and VpcIP objects that mirror the cloud, and of NEC metadata.

Ordering that keeps the cluster crash-safe: a VpcENI is written as soon as its ENI exists (before it
is attached), with a finalizer, and removed only after the cloud ENI is deleted; a VpcIP is written
right after its IP is assigned (the pending intent on the NEC covers the gap) and removed only after
the IP is unassigned. Writes are idempotent (AlreadyExists / NotFound are success) so a retried
reconcile never fails on its own earlier half. This module never calls the cloud.
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
)
from eni.api.v1.constants import FINALIZER_VPC_ENI, LABEL_NODE_NAME
from eni.api.v1.errors import DecodeError
from eni.cloud.types import Eni
from eni.runtime import log as kvlog
from eni.runtime.client.errors import AlreadyExistsError, NotFoundError
from eni.runtime.client.interfaces import Client
from eni.runtime.meta import ObjectKey

log = kvlog.get_logger(__name__)


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
        for address in addresses:
            obj = VpcIP(metadata=ObjectMeta(name=address, labels={LABEL_NODE_NAME: node}),
                        spec=VpcIPSpec(subnet_id=subnet_id, eni_id=eni_id, node_name=node))
            try:
                self.client.create(VPC_IP, obj.to_dict())
            except AlreadyExistsError:
                pass
            self.set_ip_phase(address, VpcIPPhase.ASSIGNED)
            log.info("Recorded IP", ip=address, eni=eni_id, node=node)

    def set_ip_phase(self, address: str, phase: VpcIPPhase, *, message: str = "") -> None:
        status = VpcIPStatus(phase=phase, message=message)
        self.client.patch(VPC_IP, _key(address), VpcIP(metadata=ObjectMeta(name=address),
                                                       spec=VpcIPSpec(subnet_id=""), status=status).status_patch(),
                          subresource="status")

    def forget_ips(self, addresses: Iterable[str]) -> None:
        """Delete VpcIPs; call only once the IPs are unassigned in the VPC."""
        for address in addresses:
            try:
                self.client.delete(VPC_IP, _key(address))
            except NotFoundError:
                continue
            log.info("Forgot IP record", ip=address)

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
