"""The cloud side of static IPs: assign one new IP, assign an exact address, move an IP between ENIs.

Every address ends up with exactly one VpcIP naming its claim (``spec.claimRef``), written so that a
crash leaves either a record the next pass finishes or an unclaimed pool record the handshake
releases — never an address two claims believe they hold:
- a new IP goes through ``IpLifecycle.assign`` (intent first, ClientToken), then its VpcIP is turned
  into a Pod record of the claim;
- an exact address (nominated, or a retained one coming back) is recorded as Assigning *before* the
  cloud call, so the claim already owns the name and no second claim can take it; each attempt carries
  a fresh ClientToken (one replayed after an unassign would return the old reply and assign nothing);
- a move between ENIs (MigratePrivateIpAddress within a subnet) is followed by the record update;
- a release is cancelled (``keep``) when the claim's pod comes back to the node whose agent is giving the
  address back: the address never leaves its ENI, so no other node can take it in between.
A move and a cancel of the same address exclude each other (a per-address lock of this process, which
runs every node pass): a move goes ahead only while the record still says Releasing on the source ENI and
the source node's NEC, read again under the lock, still shows the agent's release; a cancel only while the
record and the cloud still put the address on its ENI. So an address the agent got back as Bound (and
may give to its pod) is never moved away on an older confirmation.
Only the node pass calls these, and it unassigns nothing here: unassigns stay with the handshake.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable

from eni.api.v1 import VPC_IP, ObjectMeta, ObjectReference, VpcIP, VpcIPClaim, VpcIPPhase, VpcIPSpec, VpcIPType
from eni.api.v1.codec import encode
from eni.api.v1.constants import LABEL_NODE_NAME
from eni.cloud.errors import CloudError, PartialOutcome, SubnetExhausted
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers.eni.ips import IpLifecycle
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls
from eni.runtime.client.errors import AlreadyExistsError, NotFoundError
from eni.runtime.meta import ObjectKey

LOCK_STRIPES = 64
"""Locks that serialize moves and cancelled releases per address (an address always maps to the same one)."""


class AddressTaken(Exception):
    """The address is recorded for another claim; it is never taken over."""


def claim_ref(claim: VpcIPClaim) -> ObjectReference:
    return ObjectReference(namespace=claim.namespace, name=claim.name, uid=claim.metadata.uid)


def owned_by(vip: VpcIP, claim: VpcIPClaim) -> bool:
    ref = vip.spec.claim_ref
    return ref is not None and ref.uid == claim.metadata.uid


class StaticIps:
    """Cloud calls and VpcIP writes for claimed IPs."""

    def __init__(self, vpc: VpcApi, records: Records, ips: IpLifecycle, calls: CloudCalls) -> None:
        self._vpc = vpc
        self._records = records
        self._ips = ips
        self._calls = calls
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))

    def _lock_of(self, address: str) -> threading.Lock:
        return self._locks[hash(address) % LOCK_STRIPES]

    def get(self, address: str) -> VpcIP | None:
        return self._records.get_ip(address)

    def assign_new(self, *, node: str, nec_uid: str, annotations: dict[str, str], eni_id: str, subnet_id: str,
                   claims: list[VpcIPClaim]) -> tuple[list[tuple[VpcIPClaim, str]], bool]:
        """One new IP per claim on ``eni_id`` in one call; returns (claim, address) pairs and whether the
        subnet ran out part way (the addresses it did give still go to claims, in order, so none is left
        recorded without an owner). Nothing assigned at all: ``SubnetExhausted`` is raised as the cloud said."""
        exhausted = False
        try:
            addresses = self._ips.assign(node=node, nec_uid=nec_uid, annotations=annotations, eni_id=eni_id,
                                         subnet_id=subnet_id, count=len(claims))
        except PartialOutcome as e:
            if not isinstance(e.cause, SubnetExhausted):
                raise
            addresses, exhausted = list(e.done), True
        pairs = list(zip(claims, addresses, strict=False))
        for claim, address in pairs:
            self.own(address, claim, eni_id=eni_id, subnet_id=subnet_id, node=node)
        return pairs, exhausted

    def assign_address(self, *, node: str, eni_id: str, subnet_id: str, address: str, claim: VpcIPClaim) -> None:
        """Assign exactly ``address`` to ``eni_id`` for ``claim``; the record is written first."""
        self.own(address, claim, eni_id=eni_id, subnet_id=subnet_id, node=node, phase=VpcIPPhase.ASSIGNING)
        # A fresh intent per attempt: the cloud answers a known ClientToken with its first reply, so a token
        # reused after the address was unassigned would "assign" it again without doing so. An exact address
        # cannot be assigned twice anyway, and an attempt whose reply was lost is found on the ENI (below).
        intent = f"static/{claim.metadata.uid}/{address}/{eni_id}/{uuid.uuid4().hex}"
        try:
            self._calls.call("AssignPrivateIpAddresses", lambda: self._vpc.assign_private_ips(
                EniId(eni_id), intent=intent, addresses=[address]))
        except CloudError as e:
            # Already there (a Conflict), or the reply failed after the cloud acted (a NotFound about the
            # task): the ENI tells. A retryable error leaves the Assigning record for the next pass.
            if e.retryable or not self._on_eni(address, eni_id):
                raise
        self._records.set_ip_phase(address, VpcIPPhase.ASSIGNED)

    def _on_eni(self, address: str, eni_id: str) -> bool:
        on_eni = self._calls.call("DescribeNetworkInterfaces",
                                  lambda: self._vpc.describe_enis(eni_ids=[EniId(eni_id)]))
        return bool(on_eni) and any(ip.address == address for ip in on_eni[0].secondary_ips)

    def migrate(self, *, address: str, source_eni_id: str, node: str, eni_id: str, subnet_id: str,
                claim: VpcIPClaim, confirmed: Callable[[], bool]) -> bool:
        """Move ``address`` from ``source_eni_id`` to ``eni_id`` (same subnet), then re-home its record.

        False, with nothing done, when the record no longer says the claim's address is Releasing on
        ``source_eni_id`` (its node kept it, or it moved already) or ``confirmed`` — the source node's
        release handshake, asked again under the lock — no longer holds."""
        with self._lock_of(address):
            current = self.get(address)
            if current is None or not owned_by(current, claim) or current.spec.eni_id != source_eni_id \
                    or current.status.phase is not VpcIPPhase.RELEASING or not confirmed():
                return False
            self._calls.call("MigratePrivateIpAddress", lambda: self._vpc.migrate_private_ip(
                address, source_eni_id=EniId(source_eni_id), destination_eni_id=EniId(eni_id)))
            self.own(address, claim, eni_id=eni_id, subnet_id=subnet_id, node=node)
        return True

    def keep(self, address: str, *, eni_id: str, claim: VpcIPClaim) -> bool:
        """Cancel the release of ``address`` from ``eni_id``: its record is Assigned to ``claim`` again.

        False, with nothing done, when the record is not the claim's on ``eni_id`` any more or the cloud
        no longer shows the address there (a move took it)."""
        with self._lock_of(address):
            current = self.get(address)
            if current is None or not owned_by(current, claim) or current.spec.eni_id != eni_id:
                return False
            if not self._on_eni(address, eni_id):
                return False
            if current.status.phase is not VpcIPPhase.ASSIGNED:
                self._records.set_ip_phase(address, VpcIPPhase.ASSIGNED)
        return True

    def own(self, address: str, claim: VpcIPClaim, *, eni_id: str, subnet_id: str, node: str,
            phase: VpcIPPhase = VpcIPPhase.ASSIGNED) -> None:
        """Make the VpcIP of ``address`` a Pod record of ``claim`` on ``eni_id`` of ``node``."""
        spec = VpcIPSpec(subnet_id=subnet_id, type=VpcIPType.POD, eni_id=eni_id, node_name=node,
                         claim_ref=claim_ref(claim))
        obj = VpcIP(metadata=ObjectMeta(name=address, labels={LABEL_NODE_NAME: node}), spec=spec)
        client = self._records.client
        try:
            client.create(VPC_IP, obj.to_dict())
        except AlreadyExistsError:
            current = self.get(address)
            if current is None or (current.spec.claim_ref is not None and not owned_by(current, claim)):
                raise AddressTaken(f"IP {address} belongs to another claim") from None
            if phase is VpcIPPhase.ASSIGNING and current.spec.eni_id != eni_id and not owned_by(current, claim):
                # Before the cloud call: an unclaimed record of another ENI says the address is in use there.
                raise AddressTaken(f"IP {address} is assigned to {current.spec.eni_id}") from None
            # Guarded by the resourceVersion read above: a concurrent taker makes this a conflict, not a steal.
            client.patch(VPC_IP, ObjectKey(namespace="", name=address),
                         {"metadata": {"labels": {LABEL_NODE_NAME: node},
                                       "resourceVersion": current.metadata.resource_version},
                          "spec": encode(spec)})
        self._records.set_ip_phase(address, phase)

    def forget_unassigned(self, address: str, claim: VpcIPClaim) -> None:
        """Drop the claim's Assigning record of an address the cloud refused to assign."""
        current = self.get(address)
        if current is not None and owned_by(current, claim) and current.status.phase is VpcIPPhase.ASSIGNING:
            self._records.forget_records([current])

    def forget_released(self, left: Iterable[VpcIP], claim_of: Callable[[str, str], VpcIPClaim | None]) -> None:
        """Drop the records of Releasing IPs gone from their ENI: the unassign took effect though its reply was
        lost. A live claim's IP that left its ENI was moved to the claim's new node, whose pass re-homes it."""
        gone = []
        for vip in left:
            ref = vip.spec.claim_ref
            claim = claim_of(ref.namespace, ref.name) if ref is not None else None
            if claim is None or not owned_by(vip, claim) or claim.metadata.deletion_timestamp is not None:
                gone.append(vip)
        self._records.forget_records(gone)

    def disown(self, address: str) -> None:
        """Turn the VpcIP back into a pool record (its claim is gone); the handshake then releases it."""
        try:
            self._records.client.patch(VPC_IP, ObjectKey(namespace="", name=address),
                                       {"spec": {"type": VpcIPType.POOL.value, "claimRef": None}})
        except NotFoundError:
            pass
