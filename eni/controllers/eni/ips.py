"""VpcIP lifecycle: assign (intent first) -> Assigned -> Releasing -> unassigned -> record removed.

Before ``assign_private_ips`` the intent is written into the NEC and passed as the ClientToken; the
VpcIPs are written right after the reply and the intent is cleared only then, so a restart replays
the same intent and records the same IPs instead of leaking them. ``unassign`` is called only by
the release handshake for IPs the agent confirmed, and removes the records after the cloud call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eni.cloud.errors import CloudError, NotFound, PartialOutcome
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import EniId
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.intents import PendingAssign, assign_annotation, next_intent

from .records import Records


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
            self._records.patch_nec_annotations(node, assign_annotation(None))
            raise
        except NotFound:
            self._records.patch_nec_annotations(node, assign_annotation(None))  # the ENI is gone
            return []
        except CloudError as e:
            if not e.retryable:  # nothing was assigned: the next attempt takes a fresh intent
                self._records.patch_nec_annotations(node, assign_annotation(None))
            raise
        self._records.record_ips(addresses, eni_id=pending.eni_id, subnet_id=subnet_id, node=node)
        self._records.patch_nec_annotations(node, assign_annotation(None))
        return addresses

    def unassign(self, eni_id: str, addresses: Sequence[str]) -> None:
        try:
            self._calls.call("UnassignPrivateIpAddresses",
                             lambda: self._vpc.unassign_private_ips(EniId(eni_id), list(addresses)))
        except PartialOutcome as e:
            self._records.forget_ips(e.done)
            raise
        except NotFound:
            pass  # the ENI (and with it the IPs) is gone
        self._records.forget_ips(addresses)
