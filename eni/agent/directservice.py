"""Exclusive ENIs of one node: ADD moves a whole ENI into the pod, DEL brings it back, CHECK compares.

Why this shape: ``AgentService`` decides an attachment's kind and serialises calls per attachment; this class
does the exclusive half over the ``DirectLedger`` and the kernel seam (``DirectEniNetwork``). ADD writes the
record durably first and only then moves the link, so a crash leaves either nothing or a record that a retried
ADD (same ENI) or the runtime's DEL acts on. DEL moves the link back (original name, down, no address) before
the record goes; a DEL whose move fails keeps the record so the ENI is never handed out from a pod's namespace.
``refresh`` takes each NodeENIConfig status with the links found in the node's namespace; ``recover`` brings
back free ENIs found in other namespaces (an ADD that never completed, a lost ledger).

Must never: hand out an ENI that is not in the node's namespace, in state Releasing, or promised back; release a
record while its ENI may still be in a live pod namespace; raise anything but ``AgentError`` for expected
failures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from eni.agent.directledger import DirectAllocation, DirectLedger
from eni.agent.directpool import DirectEni, DirectPool, choose_direct_eni, direct_wait_reason
from eni.agent.errors import (
    CheckFailedError,
    DirectEniPendingError,
    InvalidRequestError,
    NetworkSetupError,
    PoolExhaustedError,
    UnknownContainerError,
)
from eni.agent.ledger import AttachmentKey
from eni.agent.pool import PodRef
from eni.netlink.errors import LinkNotFound, NetlinkError
from eni.netlink.interfaces import DirectEniNetwork
from eni.netlink.types import DirectEniSpec, validate_ifname

__all__ = ["DirectEniService", "DirectReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DirectReport:
    """``status.agent.inUseENIs`` and ``releasedENIs``: the ids held by pods and the ids promised back."""

    in_use: tuple[str, ...] = ()
    released: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Snapshot:
    pool: DirectPool = DirectPool()
    present: Mapping[str, str] = field(default_factory=dict)
    """MAC -> link name of the pool's ENIs found in the node's namespace."""
    capacity: int = 0


class DirectEniService:
    """Thread-safe; the caller (``AgentService``) serialises calls for one attachment."""

    def __init__(self, ledger: DirectLedger, network: DirectEniNetwork, *, static: bool = False) -> None:
        self._ledger = ledger
        self._network = network
        self._static = static
        self._lock = threading.Lock()  # guards _snapshot replacement
        # Held around every move and around refresh's look at the node's links, so that a refresh never stores
        # a view of the node taken before a move that finished meanwhile (it would show a moved ENI as home).
        self._moving = threading.Lock()
        self._snapshot = _Snapshot()

    @property
    def ledger(self) -> DirectLedger:
        return self._ledger

    def pool(self) -> DirectPool:
        return self._snapshot.pool

    def present(self) -> Mapping[str, str]:
        return self._snapshot.present

    def possible(self) -> bool:
        """Whether this node can hold exclusive ENIs at all (a limit in the NEC spec, or ENIs listed)."""
        snapshot = self._snapshot
        return snapshot.capacity > 0 or bool(snapshot.pool.enis)

    def refresh(self, pool: DirectPool, *, capacity: int) -> None:
        """Applies a NodeENIConfig status: the pool, and which of its ENIs sit in the node's namespace now."""
        macs = {e.mac for e in pool.enis}
        with self._moving:
            present = {mac: name for mac, name in self._network.node_links().items() if mac in macs} if macs else {}
            with self._lock:
                self._snapshot = _Snapshot(pool=pool, present=present, capacity=capacity)

    def report(self) -> DirectReport:
        """The ENIs in use and the ones promised back (durably, before the caller publishes them)."""
        snapshot = self._snapshot
        promised = self._ledger.promise_release(snapshot.pool, present=snapshot.present)
        return DirectReport(in_use=tuple(sorted(self._ledger.in_use())), released=tuple(sorted(promised)))

    # --- CNI verbs (the caller holds the attachment's lock) ----------------------------------------------

    def add(self, key: AttachmentKey, pod: PodRef, *, netns: str) -> DirectAllocation:
        """The attachment's ENI in the pod; the same ENI on retry. Durable before the link moves."""
        snapshot = self._snapshot

        def choose(in_use: frozenset[str], promised: frozenset[str]) -> tuple[DirectEni, str]:
            eni = choose_direct_eni(snapshot.pool, pod=pod, static=self._static, in_use=in_use,
                                    unavailable=promised, present=snapshot.present)
            if eni is None:
                reason = direct_wait_reason(snapshot.pool, pod, static=self._static, in_use=in_use,
                                            unavailable=promised, present=snapshot.present)
                raise DirectEniPendingError(reason) if self._static or snapshot.pool.reserved \
                    else PoolExhaustedError(reason)
            return eni, snapshot.present[eni.mac]

        alloc, new = self._ledger.assign(key, pod, netns=netns, choose=choose)
        try:
            with self._moving:
                self._network.attach_direct(_spec(alloc, netns=netns, ifname=key.ifname))
                self._moved_out(alloc.eni_mac)
        except LinkNotFound as e:
            if not new:
                raise NetworkSetupError(f"exclusive ENI {alloc.eni_id} of this pod is nowhere to be found: {e}") from e
            # NB: the node's view was stale (e.g. the ENI went with a deleted namespace and is not back yet).
            self._undo_add(alloc, netns)
            self._moved_out(alloc.eni_mac)
            raise PoolExhaustedError(f"exclusive ENI {alloc.eni_id} is not in the node's network namespace; "
                                     f"another one is tried next time") from e
        except (NetlinkError, ValueError) as e:
            if new:
                self._undo_add(alloc, netns)
            raise NetworkSetupError(f"moving exclusive ENI {alloc.eni_id} into the pod failed: {e}") from e
        log.info("Gave an exclusive ENI", extra={"eni": alloc.eni_id, "container": key.container_id})
        return alloc

    def delete(self, key: AttachmentKey, *, netns: str) -> DirectAllocation | None:
        """Moves the ENI back to the node and forgets the record; None when the key holds none (idempotent)."""
        alloc = self._ledger.get(key)
        if alloc is None:
            return None
        self._bring_back(alloc, netns or alloc.netns)
        released = self._ledger.release(key)
        log.info("Took back an exclusive ENI", extra={"eni": alloc.eni_id, "container": key.container_id})
        return released

    def check(self, key: AttachmentKey, *, netns: str) -> DirectAllocation:
        alloc = self._ledger.get(key)
        if alloc is None:
            raise UnknownContainerError(f"no exclusive ENI is allocated to container {key.container_id}")
        try:
            problems = self._network.check_direct(_spec(alloc, netns=netns, ifname=key.ifname))
        except (NetlinkError, ValueError) as e:
            raise NetworkSetupError(f"checking exclusive ENI {alloc.eni_id} failed: {e}") from e
        if problems:
            raise CheckFailedError("; ".join(problems))
        return alloc

    # --- recovery --------------------------------------------------------------------------------------

    def recover(self) -> int:
        """Brings back free ENIs of the pool found outside the node's namespace; returns how many came back.

        Free means no record holds it: an ADD that never became durable never moved it, so such an ENI was moved
        by something the ledger does not remember (e.g. a state dir wiped under a running node).
        """
        snapshot = self._snapshot
        in_use = self._ledger.in_use()
        missing = {e.mac: e for e in snapshot.pool.enis if e.eni_id not in in_use and e.mac not in snapshot.present}
        if not missing:
            return 0
        back = 0
        for mac, path in self._network.find_direct(list(missing)).items():
            eni = missing[mac]
            try:
                with self._moving:
                    if eni.eni_id in self._ledger.in_use():
                        continue  # NB: an ADD took it meanwhile; its record now owns the link
                    home = self._network.detach_direct(mac=mac, netns_path=path, node_ifname=_home_name(eni))
                if home:
                    back += 1
                    log.warning("Brought back a stranded exclusive ENI", extra={"eni": eni.eni_id, "netns": path})
            except (NetlinkError, ValueError):
                log.warning("Could not bring back a stranded exclusive ENI", exc_info=True,
                            extra={"eni": eni.eni_id, "netns": path})
        return back

    # --- internals -------------------------------------------------------------------------------------

    def _bring_back(self, alloc: DirectAllocation, netns: str) -> None:
        try:
            with self._moving:
                home = self._network.detach_direct(mac=alloc.eni_mac, netns_path=netns or None,
                                                   node_ifname=alloc.link_name)
                if home:
                    self._moved_home(alloc.eni_mac, alloc.link_name)
        except (NetlinkError, ValueError) as e:
            # NB: the record stays so that nothing else gets the ENI while it may sit in the pod.
            raise NetworkSetupError(f"moving exclusive ENI {alloc.eni_id} back to the node failed: {e}") from e
        if not home:
            log.warning("Exclusive ENI not found in the pod or the node namespace; it is handed out again only once "
                        "it is back in the node's namespace", extra={"eni": alloc.eni_id})

    def _undo_add(self, alloc: DirectAllocation, netns: str) -> None:
        try:
            self._bring_back(alloc, netns)
            self._ledger.release(alloc.key)
        except Exception:
            # The runtime follows a failed ADD with DEL, which retries this clean-up.
            log.warning("Clean-up after a failed exclusive-ENI ADD failed", exc_info=True)

    def _moved_out(self, mac: str) -> None:
        with self._lock:
            present = {m: n for m, n in self._snapshot.present.items() if m != mac}
            self._snapshot = _Snapshot(pool=self._snapshot.pool, present=present, capacity=self._snapshot.capacity)

    def _moved_home(self, mac: str, name: str) -> None:
        with self._lock:
            present = {**self._snapshot.present, mac: name}
            self._snapshot = _Snapshot(pool=self._snapshot.pool, present=present, capacity=self._snapshot.capacity)


def _spec(alloc: DirectAllocation, *, netns: str, ifname: str) -> DirectEniSpec:
    try:
        return DirectEniSpec(mac=alloc.eni_mac, netns_path=netns or alloc.netns, ifname=ifname, address=alloc.address,
                             gateway=alloc.gateway)
    except ValueError as e:
        raise InvalidRequestError(str(e)) from e


def _home_name(eni: DirectEni) -> str:
    """A node-namespace name for an ENI whose original name is unknown: its id when that is a valid link name."""
    try:
        return validate_ifname(eni.eni_id)
    except ValueError:
        return "eni" + eni.mac.replace(":", "")[-8:]

