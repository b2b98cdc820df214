"""The node's allocation ledger: which attachment holds which pod IP, persisted crash-safely.

Why this shape: the CNI key of an attachment is (network name, container id, ifname); ADD for a key
that already holds an IP returns that IP, so a runtime retrying ADD after an agent crash gets the same
answer. Every change is saved through the ``Checkpointer`` BEFORE the caller sees its result: an IP is
returned (and the pod's netns configured) only once its record is durable, so ``kill -9`` at any instant
loses no allocation and never gives one IP to two pods. Concurrent changes share saves (group commit,
see ``Ledger._commit``): a burst of ADDs pays a few fsyncs, not one each. Released IPs cool down
(injectable wall clock, persisted) before reuse by another pod (a static IP goes back to its own pod at
once); IPs promised back to ipamd through ``promise_release`` are never handed out again.

Must never: return an allocation whose record is not durable, keep an in-memory change whose save failed,
or hand out an IP that is in use, cooling down, promised back, in state Releasing, or reserved for another pod.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Protocol

from eni.agent.errors import LedgerError, PoolExhaustedError, StaticIpPendingError
from eni.agent.pool import IpState, PodRef, PoolView, choose_ip, releasable_ips, static_wait_reason

__all__ = ["Allocation", "AttachmentKey", "Checkpointer", "Ledger", "PodRef", "DEFAULT_COOLDOWN"]

DEFAULT_COOLDOWN = 30.0
FORMAT_VERSION = 1


class Checkpointer(Protocol):
    """Durable storage of one JSON document; ``save`` returns only once the document is durable."""

    def load(self) -> dict[str, Any] | None: ...
    def save(self, doc: Mapping[str, Any], *, sync_directory: bool = True) -> None:
        """``sync_directory=False``: durable against a process crash, may roll back on a power loss."""


@dataclass(frozen=True, slots=True)
class AttachmentKey:
    """The CNI spec's primary key of an attachment."""

    network_name: str
    container_id: str
    ifname: str


@dataclass(frozen=True, slots=True)
class Allocation:
    key: AttachmentKey
    pod: PodRef
    ip: IPv4Address
    eni_id: str
    eni_mac: str
    allocated_at: float


class Ledger:
    """Thread-safe ledger; every mutating method saves before it returns and rolls back if the save fails."""

    def __init__(
        self,
        checkpointer: Checkpointer,
        *,
        clock: Callable[[], float] = time.time,
        cooldown: float = DEFAULT_COOLDOWN,
    ) -> None:
        if cooldown < 0:
            raise ValueError("cooldown must not be negative")
        self._checkpointer = checkpointer
        self._clock = clock
        self._cooldown = cooldown
        self._lock = threading.Lock()  # guards the state below
        self._save_lock = threading.Lock()  # one save at a time; see _commit
        self._version = 0  # guarded by _lock: bumped by every change
        self._saved_version = 0  # guarded by _save_lock: the newest version known durable
        # Guarded by _lock: the next save must also make its rename durable against a power loss (promises
        # changed). Allocations and releases skip that directory fsync: a power loss that could roll them back
        # kills the node's pods with them, while a forgotten promise could give ipamd's IP to a pod.
        self._barrier = False
        # Invariant: no IP appears twice in _by_key, and none of them is in _promised.
        self._by_key: dict[AttachmentKey, Allocation] = {}
        self._released_at: dict[IPv4Address, float] = {}
        self._promised: set[IPv4Address] = set()
        self._restore(checkpointer.load())

    # --- queries -------------------------------------------------------------------------------------

    def get(self, key: AttachmentKey) -> Allocation | None:
        with self._lock:
            return self._by_key.get(key)

    def allocations(self) -> list[Allocation]:
        with self._lock:
            return sorted(self._by_key.values(), key=lambda a: (a.allocated_at, int(a.ip)))

    def in_use(self) -> set[IPv4Address]:
        with self._lock:
            return {a.ip for a in self._by_key.values()}

    def cooling(self) -> set[IPv4Address]:
        with self._lock:
            return self._cooling_locked()

    def promised(self) -> frozenset[IPv4Address]:
        with self._lock:
            return frozenset(self._promised)

    # --- changes -------------------------------------------------------------------------------------

    def assign(self, key: AttachmentKey, pod: PodRef, pool: PoolView) -> Allocation:
        """The key's allocation: the existing one, or a new durable one from ``pool``.

        Raises ``PoolExhaustedError`` when no IP is free and ``LedgerError`` when the record cannot be saved.
        """
        alloc, durable = self.reserve(key, pod, pool)
        durable()
        return alloc

    def reserve(self, key: AttachmentKey, pod: PodRef, pool: PoolView) -> tuple[Allocation, Callable[[], None]]:
        """Like ``assign``, but returns before the record is durable, with the call that waits until it is.

        The IP is the key's from this instant (nobody else gets it); the caller may prepare work meanwhile but
        must not report the allocation before the returned call came back. That call raises ``LedgerError``
        (and forgets the reservation) when the record cannot be saved.
        """
        with self._lock:
            existing = self._by_key.get(key)
            if existing is not None:
                version = self._version
                # NB: an existing record may be a concurrent caller's, not yet durable: wait for it like for ours.
                return existing, lambda: self._commit(version, _nothing)
            in_use = {a.ip for a in self._by_key.values()}
            cooling = self._cooling_locked()
            choice = choose_ip(pool, pod=pod, in_use=in_use, unavailable=self._promised, cooling=cooling)
            if choice is None:
                if pool.static:
                    raise StaticIpPendingError(static_wait_reason(pool, pod, in_use=in_use))
                message = _exhausted_message(pool, pod, in_use=len(in_use), held=len(cooling | self._promised))
                if pod.name and not any(e.shared for e in pool.enis):
                    raise StaticIpPendingError(message)  # NB: static mode's first pod on a node, or a node starting
                raise PoolExhaustedError(message)
            eni, ip = choice
            alloc = Allocation(key=key, pod=pod, ip=ip, eni_id=eni.eni_id, eni_mac=eni.mac,
                               allocated_at=self._clock())
            self._by_key[key] = alloc
            released_at = self._released_at.pop(ip, None)
            version = self._changed_locked()

        def undo() -> None:
            if self._by_key.get(key) is alloc:
                del self._by_key[key]
                if released_at is not None:
                    self._released_at.setdefault(alloc.ip, released_at)

        return alloc, lambda: self._commit(version, undo)

    def release(self, key: AttachmentKey) -> Allocation | None:
        """Frees the key's IP into cooldown; None when the key holds nothing (idempotent)."""
        with self._lock:
            alloc = self._by_key.pop(key, None)
            if alloc is None:
                return None
            previous = self._released_at.get(alloc.ip)
            self._released_at[alloc.ip] = self._clock()
            version = self._changed_locked()

        def undo() -> None:
            # NB: only while nobody took the IP meanwhile (possible with no cooldown): then the release stands and
            # is saved by that caller's own commit; the error still tells our caller to retry.
            if key not in self._by_key and alloc.ip not in {a.ip for a in self._by_key.values()}:
                self._by_key[key] = alloc
                if previous is None:
                    self._released_at.pop(alloc.ip, None)
                else:
                    self._released_at[alloc.ip] = previous

        self._commit(version, undo)
        return alloc

    def promise_release(self, pool: PoolView) -> frozenset[IPv4Address]:
        """Promises never to hand out again the Releasing IPs that are free; returns every promised IP.

        A promise ends when its IP leaves the pool (ipamd unassigned it) or is Bound again (ipamd kept it).
        The caller publishes the result as ``status.agent.releasedIPs`` only after this returns.
        """
        with self._lock:
            in_use = {a.ip for a in self._by_key.values()}
            still_releasing = {ip for ip in self._promised if pool.state_of(ip) is IpState.RELEASING}
            wanted = still_releasing | releasable_ips(pool, in_use=in_use, held=self._cooling_locked())
            previous = self._promised
            if wanted != previous:
                self._promised = wanted
                self._barrier = True
            version = self._changed_locked() if wanted != previous else self._version

        def undo() -> None:
            if self._promised is wanted:
                self._promised = previous

        self._commit(version, undo)
        return frozenset(wanted)

    # --- persistence ---------------------------------------------------------------------------------

    def _changed_locked(self) -> int:
        self._version += 1
        return self._version

    def _commit(self, version: int, undo: Callable[[], None]) -> None:
        """Returns once the state of ``version`` (or a later one) is durable; on failure ``undo``es and raises.

        Group commit: callers that change the ledger while a save is running wait for the save lock; the first
        of them saves everything changed so far in one write and fsync, and the others find their change
        already durable. A burst of ADDs costs a few fsyncs instead of one each.
        """
        with self._save_lock:
            if self._saved_version >= version:
                return
            with self._lock:
                doc = self._document_locked()
                covered, barrier, self._barrier = self._version, self._barrier, False
            try:
                self._save(doc, sync_directory=barrier)
            except BaseException:
                with self._lock:
                    undo()
                    self._version += 1  # the state changed again: what a later caller saves must include it
                    self._barrier = self._barrier or barrier
                raise
            self._saved_version = covered

    def _cooling_locked(self) -> set[IPv4Address]:
        now = self._clock()
        # NB: a wall clock that jumped back by more than the cooldown ends the wait instead of prolonging it.
        return {ip for ip, at in self._released_at.items() if 0 < at + self._cooldown - now <= self._cooldown}

    def _document_locked(self) -> dict[str, Any]:
        cooling = self._cooling_locked()
        self._released_at = {ip: at for ip, at in self._released_at.items() if ip in cooling}
        return {
            "version": FORMAT_VERSION,
            "allocations": [_alloc_to_json(a) for a in self._by_key.values()],
            "releasedAt": {str(ip): at for ip, at in self._released_at.items()},
            "promised": sorted(str(ip) for ip in self._promised),
        }

    def _save(self, doc: Mapping[str, Any], *, sync_directory: bool) -> None:
        try:
            self._checkpointer.save(doc, sync_directory=sync_directory)
        except Exception as e:
            raise LedgerError(f"cannot persist the IP ledger: {e}") from e

    def _restore(self, doc: Mapping[str, Any] | None) -> None:
        if doc is None:
            return
        if doc.get("version") != FORMAT_VERSION:
            raise LedgerError(f"unsupported ledger format version {doc.get('version')!r}")
        try:
            for raw in doc.get("allocations", []):
                alloc = _alloc_from_json(raw)
                self._by_key[alloc.key] = alloc
            self._released_at = {IPv4Address(ip): float(at) for ip, at in doc.get("releasedAt", {}).items()}
            self._promised = {IPv4Address(ip) for ip in doc.get("promised", [])}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise LedgerError(f"corrupt ledger checkpoint: {e!r}") from e
        ips = [a.ip for a in self._by_key.values()]
        if len(ips) != len(set(ips)):
            raise LedgerError("corrupt ledger checkpoint: one IP recorded for two attachments")


def _nothing() -> None:
    """The undo of a call that changed nothing."""


def _exhausted_message(pool: PoolView, pod: PodRef, *, in_use: int, held: int) -> str:
    shared = [e for e in pool.enis if e.shared]
    if not shared:
        # NB: in static-IP mode a node's first pod waits here, before ipamd reserved anything on the node.
        waiting = f" (in static-IP mode: waiting for ipamd to assign the static IP of {pod})" if pod.name else ""
        return f"no IP free yet: no ENI with secondary IPs is bound to this node{waiting}"
    return f"no IP free yet: {in_use} in use, {held} cooling down or being released, on {len(shared)} ENI(s)"


def _alloc_to_json(a: Allocation) -> dict[str, Any]:
    return {
        "network": a.key.network_name,
        "containerId": a.key.container_id,
        "ifname": a.key.ifname,
        "podNamespace": a.pod.namespace,
        "podName": a.pod.name,
        "podUid": a.pod.uid,
        "ip": str(a.ip),
        "eniId": a.eni_id,
        "eniMac": a.eni_mac,
        "allocatedAt": a.allocated_at,
    }


def _alloc_from_json(raw: Mapping[str, Any]) -> Allocation:
    return Allocation(
        key=AttachmentKey(network_name=str(raw["network"]), container_id=str(raw["containerId"]),
                          ifname=str(raw["ifname"])),
        pod=PodRef(namespace=str(raw.get("podNamespace", "")), name=str(raw.get("podName", "")),
                   uid=str(raw.get("podUid", ""))),
        ip=IPv4Address(str(raw["ip"])),
        eni_id=str(raw.get("eniId", "")),
        eni_mac=str(raw.get("eniMac", "")),
        allocated_at=float(raw["allocatedAt"]),
    )


def iter_ips(allocations: Iterable[Allocation]) -> list[str]:
    """The IPs of ``allocations`` as strings, for ``status.agent.inUseIPs``."""
    return sorted((str(a.ip) for a in allocations), key=lambda s: int(IPv4Address(s)))
