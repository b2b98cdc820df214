"""VpcIP lifecycle: assign (intent first) -> Assigned -> Releasing -> unassigned -> record removed.

Before ``assign_private_ips`` the intent is written into the NEC and passed as the ClientToken; the
VpcIPs are written right after the reply and the intent is cleared only then, so a restart replays
the same intent and records the same IPs instead of leaking them. A retryable failure keeps the
intent for that replay. A refusal of the call itself drops it (nothing was assigned). A ``NotFound``
is not taken as "the ENI is gone" on its word — it may name the task the adapter waited for once the
cloud had assigned the IPs: when the ENI is still there, every secondary IP it shows that no VpcIP
names is recorded (the intent's, whatever the reply said) and the intent is dropped, so neither a
leak nor a replay that fails forever is left behind. ``unassign`` is called only by the release
handshake for IPs the agent confirmed, and removes the records after the cloud call — on
``NotFound`` only those of the addresses the ENI no longer holds — unless a record names another ENI
by then: the cloud may hand a given-back address to another node at once (``Records``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eni.cloud.errors import CloudError, NotFound, PartialOutcome
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.intents import PendingAssign, assign_annotation, next_intent
from eni.runtime import log as kvlog

from .records import Records

log = kvlog.get_logger(__name__)


class IpLifecycle:
    """Assigns and unassigns one node's secondary IPs, keeping VpcIPs in step."""

    def __init__(self, vpc: VpcApi, records: Records, calls: CloudCalls) -> None:
        self._vpc = vpc
        self._records = records
        self._calls = calls

    def assign(
        self, *, node: str, nec_uid: str, annotations: Mapping[str, str], eni_id: str, subnet_id: str, count: int
    ) -> list[str]:
        intent, reserve = next_intent(nec_uid, annotations, "ip")
        pending = PendingAssign(intent=intent, eni_id=eni_id, count=count)
        self._records.patch_nec_annotations(node, {**reserve, **assign_annotation(pending)})
        return self.finish_pending(pending, node=node, subnet_id=subnet_id)

    def finish_pending(self, pending: PendingAssign, *, node: str, subnet_id: str) -> list[str]:
        """Assign (or, on replay, find) the intent's IPs, record them, clear the intent."""
        try:
            assigned = self._calls.call("AssignPrivateIpAddresses", lambda: self._vpc.assign_private_ips(
                EniId(pending.eni_id), intent=pending.intent, count=pending.count))
            addresses = [ip.address for ip in assigned]
        except PartialOutcome as e:
            self._records.record_ips(e.done, eni_id=pending.eni_id, subnet_id=subnet_id, node=node)
            if not e.cause.retryable:  # else a replay finds the rest
                self._settle_refused(e.cause, pending, node=node, subnet_id=subnet_id)
            raise
        except CloudError as e:
            if e.retryable:
                log.warning("Assign outcome unknown; its intent stays for a replay", node=node, eni=pending.eni_id,
                            intent=pending.intent, error=str(e))
                raise  # the outcome is unknown: the intent stays, and the next pass replays it
            found = self._settle_refused(e, pending, node=node, subnet_id=subnet_id)
            if isinstance(e, NotFound):
                return found
            raise
        self._records.record_ips(addresses, eni_id=pending.eni_id, subnet_id=subnet_id, node=node)
        self._records.patch_nec_annotations(node, assign_annotation(None))
        log.info("Assigned IPs", node=node, eni=pending.eni_id, intent=pending.intent, ips=",".join(addresses))
        return addresses

    def _settle_refused(self, error: CloudError, pending: PendingAssign, *, node: str, subnet_id: str) -> list[str]:
        """Drop the intent of a failed assign; after a ``NotFound`` first record what its ENI shows unrecorded."""
        found: list[str] = []
        if isinstance(error, NotFound):
            known = {ip.name for ip in self._records.all_ips() if ip.spec.eni_id == pending.eni_id}
            found = sorted(self._held_by(pending.eni_id) - known)
            self._records.record_ips(found, eni_id=pending.eni_id, subnet_id=subnet_id, node=node)
        self._records.patch_nec_annotations(node, assign_annotation(None))  # the next attempt: a fresh intent
        log.info("Assign refused; its intent is dropped", node=node, eni=pending.eni_id, intent=pending.intent,
                 error=str(error), found=",".join(found))
        return found

    def unassign(self, eni_id: str, addresses: Sequence[str]) -> None:
        try:
            self._calls.call("UnassignPrivateIpAddresses",
                             lambda: self._vpc.unassign_private_ips(EniId(eni_id), list(addresses)))
        except PartialOutcome as e:
            self._records.forget_ips(e.done, eni_id=eni_id)
            raise
        except NotFound:
            # Gone are the ENI (and its IPs) or some of the addresses. Those it still holds keep their
            # records, so a later pass unassigns them instead of leaving them assigned and unrecorded.
            held = self._held_by(eni_id)
            self._records.forget_ips([a for a in addresses if a not in held], eni_id=eni_id)
            if held & set(addresses):
                raise
            return
        self._records.forget_ips(addresses, eni_id=eni_id)

    def _held_by(self, eni_id: str) -> set[str]:
        """The secondary IPs the cloud shows on ``eni_id`` now (none when it is gone)."""
        found = self._calls.call("DescribeNetworkInterfaces", lambda: self._vpc.describe_enis(eni_ids=[EniId(eni_id)]))
        return {ip.address for eni in found for ip in eni.secondary_ips}
