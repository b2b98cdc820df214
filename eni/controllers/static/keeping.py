"""The first step of a node's static-IP pass: each IP recorded on the node is kept for its claim's pod, or let go.

An IP stays Bound, reserved for its claim's pod (the pod named in the NEC status), while the claim exists, owns
its record, is not being deleted and its pod does not live on another node; otherwise it is marked Releasing
(VpcIP first, then the NEC status the caller renders) and the agent's confirmation lets the handshake unassign
it or the pod's new node move it. A Releasing IP of a live claim stays reserved, so the handshake keeps it.
Releasing is published only by this step, by the same rules whoever asked for it (a VpcIP marked Releasing by
another node's pass is decided here afresh), so a release's round always starts with the agent's listing clear.
Must never mark an IP Releasing while the agent lists it in ``inUseIPs``, or while it still lists it in
``releasedIPs`` from an earlier round (every listing must confirm the current round). Never calls the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from eni.api.v1 import PodRef, VpcIP, VpcIPClaim, VpcIPPhase
from eni.controllers.eni.records import Records
from eni.controllers.nodepool.model import WorkingEni
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.interfaces import Reader
from eni.runtime.meta import POD, ObjectKey

from .moves import owned_by
from .podview import PodView, is_live

ClaimOf = Callable[[str, str], VpcIPClaim | None]
"""The claim of a pod, by namespace and name, or None."""


class KeepOrRelease:
    """Decides, per recorded IP of a node, Bound for its claim's pod or Releasing (see the module docstring)."""

    def __init__(self, *, reader: Reader, records: Records, claim_of: ClaimOf) -> None:
        self._reader = reader
        self._records = records
        self._claim_of = claim_of

    def run(self, *, node: str, work: Mapping[str, WorkingEni], recorded: Mapping[str, VpcIP],
            pods: Mapping[tuple[str, str], PodView], published: Collection[str], used: set[str], released: set[str],
            reservations: dict[str, PodRef]) -> bool:
        """Marks in ``work`` (and the VpcIPs) and fills ``reservations``; True when an IP waits for the agent.

        ``published``: the IPs the NEC status shows Releasing. Any other IP found Releasing was only asked for
        (its VpcIP marked, e.g. by the pass of the node its claim's pod went to) and is decided here afresh."""
        requested = _unpublished_releases(work, published)
        waiting = False
        for w in work.values():
            for address in list(w.bound) + list(w.releasing):
                vip = recorded.get(address)
                ref = vip.spec.claim_ref if vip is not None else None
                claim = self._claim_of(ref.namespace, ref.name) if ref is not None else None
                if claim is not None and vip is not None and owned_by(vip, claim) \
                        and claim.metadata.deletion_timestamp is None:
                    reservations[address] = PodRef(namespace=claim.namespace, name=claim.name, uid=claim.spec.pod_uid)
                    if address in w.bound and not self._lives_elsewhere(node, claim, pods):
                        if address in requested:  # asked for on an older view of where the pod lives
                            self._records.set_ip_phase(address, VpcIPPhase.ASSIGNED)
                        continue
                if address in w.releasing:
                    if vip is not None and vip.status.phase is not VpcIPPhase.RELEASING:
                        # The NEC says Releasing, the record not (a cancel cut short): a move checks the record.
                        self._records.set_ip_phase(address, VpcIPPhase.RELEASING)
                    continue
                if address in used or address in released:
                    waiting = True  # a pod still holds it, or the agent has not dropped an old listing
                    continue
                if address not in requested:
                    self._records.set_ip_phase(address, VpcIPPhase.RELEASING)
                w.mark_releasing(address)
        return waiting

    def _lives_elsewhere(self, node: str, claim: VpcIPClaim, pods: Mapping[tuple[str, str], PodView]) -> bool:
        if not claim.spec.pod_uid or (claim.namespace, claim.name) in pods:
            return False
        try:
            pod = self._reader.get(POD, ObjectKey(claim.namespace, claim.name))
        except NotFoundError:
            return False
        view = PodView.of(pod)
        return view.uid == claim.spec.pod_uid and bool(view.node_name) and view.node_name != node and is_live(pod)


def _unpublished_releases(work: Mapping[str, WorkingEni], published: Collection[str]) -> set[str]:
    """Turns the Releasing IPs the NEC does not show Releasing back into Bound ones in ``work``; returns them.

    Published as they are, they could meet a listing in ``releasedIPs`` left from an earlier round: the agent
    released the IP then, saw it Bound again since, and may have given it to a pod it has not reported yet."""
    requested: set[str] = set()
    for w in work.values():
        for address in [a for a in w.releasing if a not in published]:
            w.releasing.remove(address)
            w.bound.append(address)
            requested.add(address)
    return requested
