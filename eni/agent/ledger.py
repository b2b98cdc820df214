"""The node's allocation ledger: which attachment holds which pod IP, persisted crash-safely.

Why this shape: the CNI key of an attachment is (network name, container id, ifname); ADD for a key
that already holds an IP returns that IP, so a runtime retrying ADD after an agent crash gets the same
answer. Every change is durable BEFORE the caller sees its result: an IP is returned (and the pod's netns
configured) only once its record is durable, so ``kill -9`` at any instant loses no allocation and never
gives one IP to two pods. A change is one record appended to the checkpoint's journal (``JournaledCheckpointer``),
so its cost does not grow with the allocations; the whole ledger becomes a new checkpoint only once the journal
outgrew it, and at the first change after start (which drops a torn journal tail). Concurrent changes share
writes (group commit, see ``Ledger._commit``): a burst of ADDs pays a few fsyncs, not one each. Released IPs
cool down (injectable wall clock, persisted) before reuse by another pod (a static IP goes back to its own pod
at once); IPs promised back to ipamd through ``promise_release`` are never handed out again.

Must never: return an allocation whose record is not durable, keep an in-memory change whose save failed,
or hand out an IP that is in use, cooling down, promised back, in state Releasing, or reserved for another pod.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Protocol

from eni.agent.checkpoint import CheckpointError, JournaledCheckpointer
from eni.agent.errors import LedgerError, PoolExhaustedError, StaticIpPendingError
from eni.agent.pool import IpState, PodRef, PoolView, choose_ip, releasable_ips, static_wait_reason

__all__ = ["Allocation", "AttachmentKey", "Checkpointer", "Ledger", "PodRef", "DEFAULT_COOLDOWN"]

DEFAULT_COOLDOWN = 30.0
# NB: 2 since changes go to a journal: an older agent must refuse the checkpoint rather than miss the journal.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
MIN_JOURNAL_RECORDS = 256
"""A journal is folded into a new checkpoint once it holds this many records or, beyond that, more records than
the ledger has entries: compaction costs O(entries), so spread over as many appends it costs O(1) per change."""


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

    def __init__(self, checkpointer: Checkpointer, *, clock: Callable[[], float] = time.time,
                 cooldown: float = DEFAULT_COOLDOWN) -> None:
        if cooldown < 0:
            raise ValueError("cooldown must not be negative")
        self._checkpointer = checkpointer
        self._journal = checkpointer.journal() if isinstance(checkpointer, JournaledCheckpointer) else None
        self._clock = clock
        self._cooldown = cooldown
        self._lock = threading.Lock()  # guards the state below
        self._save_lock = threading.Lock()  # one save at a time; see _commit
        self._version = 0  # guarded by _lock: bumped by every change
        self._saved_version = 0  # guarded by _save_lock: the newest version known durable
        # Guarded by _lock: the journal records of the changes not yet written, in the order they were made.
        self._pending: list[dict[str, Any]] = []
        # Guarded by _save_lock: the next save writes a whole checkpoint (at start, and after a failed save left the
        # journal's content unknown). The generation numbers checkpoints; a journal follows exactly one.
        self._compact = True
        self._generation = 0  # guarded by _lock
        # Guarded by _lock: without a journal, the next save must also fsync the directory (promises changed);
        # allocations skip that: a power loss that rolls them back kills their pods too, unlike a forgotten promise.
        self._barrier = False
        # Invariant: no IP appears twice in _by_key, and none of them is in _promised; _owner indexes _by_key by IP.
        self._by_key: dict[AttachmentKey, Allocation] = {}
        self._owner: dict[IPv4Address, AttachmentKey] = {}
        # In release order (a release moves its IP to the end), so that expired entries are pruned from the front.
        self._released_at: dict[IPv4Address, float] = {}
        self._promised: set[IPv4Address] = set()
        self._calm_pool: tuple[PoolView | None, bool] = (None, False)  # the pool last checked for Releasing IPs
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
            return set(self._owner)

    def cooling(self) -> set[IPv4Address]:
        with self._lock:
            return set(self._cooling_locked())

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
            in_use = self._owner.keys()
            cooling = self._cooling_locked()
            choice = choose_ip(pool, pod=pod, in_use=in_use, unavailable=self._promised, cooling=cooling)
            if choice is None:
                if pool.static:
                    raise StaticIpPendingError(static_wait_reason(pool, pod, in_use=in_use))
                held = len(self._promised.union(cooling))
                message = _exhausted_message(pool, pod, in_use=len(in_use), held=held)
                if pod.name and not any(e.shared for e in pool.enis):
                    raise StaticIpPendingError(message)  # NB: static mode's first pod on a node, or a node starting
                raise PoolExhaustedError(message)
            eni, ip = choice
            alloc = Allocation(key=key, pod=pod, ip=ip, eni_id=eni.eni_id, eni_mac=eni.mac,
                               allocated_at=self._clock())
            self._put_locked(alloc)
            released_at = self._released_at.pop(ip, None)
            version = self._changed_locked({"op": "assign", **_alloc_to_json(alloc)})

        def undo() -> None:
            if self._by_key.get(key) is alloc:
                self._drop_locked(key)
                if released_at is not None:
                    self._released_at.setdefault(alloc.ip, released_at)

        return alloc, lambda: self._commit(version, undo)

    def release(self, key: AttachmentKey) -> Allocation | None:
        """Frees the key's IP into cooldown; None when the key holds nothing (idempotent)."""
        with self._lock:
            alloc = self._drop_locked(key)
            if alloc is None:
                return None
            previous = self._released_at.pop(alloc.ip, None)
            at = self._released_at[alloc.ip] = self._clock()
            version = self._changed_locked({"op": "release", **_key_to_json(key), "ip": str(alloc.ip), "at": at})

        def undo() -> None:
            # NB: only while nobody took the IP meanwhile (possible with no cooldown): then the release stands and
            # is saved by that caller's own commit; the error still tells our caller to retry.
            if key not in self._by_key and alloc.ip not in self._owner:
                self._put_locked(alloc)
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
            previous = self._promised
            if previous or self._has_releasing_locked(pool):
                still_releasing = {ip for ip in previous if pool.state_of(ip) is IpState.RELEASING}
                wanted = still_releasing | releasable_ips(pool, in_use=self._owner.keys(),
                                                          held=self._cooling_locked())
            else:
                wanted = previous  # NB: the common case, answered without looking at every IP of the pool
            if wanted != previous:
                self._promised = wanted
                self._barrier = True
                version = self._changed_locked({"op": "promised", "ips": sorted(str(ip) for ip in wanted)})
            else:
                version = self._version

        def undo() -> None:
            if self._promised is wanted:
                self._promised = previous

        self._commit(version, undo)
        return frozenset(wanted)

    # --- persistence ---------------------------------------------------------------------------------

    def _put_locked(self, alloc: Allocation) -> None:
        self._by_key[alloc.key], self._owner[alloc.ip] = alloc, alloc.key

    def _drop_locked(self, key: AttachmentKey) -> Allocation | None:
        alloc = self._by_key.pop(key, None)
        if alloc is not None:
            del self._owner[alloc.ip]
        return alloc

    def _changed_locked(self, record: dict[str, Any]) -> int:
        self._version += 1
        self._pending.append(record)
        return self._version

    def _commit(self, version: int, undo: Callable[[], None]) -> None:
        """Returns once the state of ``version`` (or a later one) is durable; on failure ``undo``es and raises.

        Group commit: callers that change the ledger while a save is running wait for the save lock; the first
        of them writes every record made so far in one append and fsync (or one new checkpoint), and the others
        find their change already durable. A burst of ADDs costs a few fsyncs instead of one each.
        """
        with self._save_lock:
            if self._saved_version >= version:
                return
            with self._lock:
                covered, records, self._pending = self._version, self._pending, []
                compact = self._journal is None or self._compact or self._journal_full_locked(len(records))
                doc = self._document_locked() if compact else None
                barrier, self._barrier = self._barrier, False
            try:
                self._write(records, doc, barrier=barrier)
            except BaseException:
                with self._lock:
                    undo()
                    self._version += 1  # the state changed again: what a later caller saves must include it
                    self._barrier = self._barrier or barrier
                # NB: what reached the journal is unknown (the undone change may be in it): the next save writes a
                # whole checkpoint of a new generation, which disowns that journal.
                self._compact = True
                raise
            self._saved_version = covered

    def _journal_full_locked(self, adding: int) -> bool:
        assert self._journal is not None
        records = self._journal.records + adding
        return records > MIN_JOURNAL_RECORDS and records > len(self._by_key) + len(self._released_at)

    def _has_releasing_locked(self, pool: PoolView) -> bool:
        seen, releasing = self._calm_pool
        if seen is not pool:
            releasing = any(state is IpState.RELEASING for eni in pool.enis for state in eni.ips.values())
            self._calm_pool = (pool, releasing)
        return releasing

    def _cooling_locked(self) -> list[IPv4Address]:
        now = self._clock()
        while self._released_at:  # NB: prunes the expired from the front (release order) until one still cools
            ip, at = next(iter(self._released_at.items()))
            if at > now - self._cooldown:
                break
            del self._released_at[ip]
        # NB: a wall clock that jumped back by more than the cooldown ends the wait instead of prolonging it.
        return [ip for ip, at in self._released_at.items() if at <= now]

    def _document_locked(self) -> dict[str, Any]:
        cooling = set(self._cooling_locked())
        self._released_at = {ip: at for ip, at in self._released_at.items() if ip in cooling}
        self._generation += 1  # NB: never reused, even when this save fails: a journal follows one checkpoint
        return {
            "version": FORMAT_VERSION,
            "generation": self._generation,
            "allocations": [_alloc_to_json(a) for a in self._by_key.values()],
            "releasedAt": {str(ip): at for ip, at in self._released_at.items()},
            "promised": sorted(str(ip) for ip in self._promised),
        }

    def _write(self, records: Sequence[Mapping[str, Any]], doc: Mapping[str, Any] | None, *, barrier: bool) -> None:
        """Appends ``records`` to the journal or, given ``doc``, writes the checkpoint and restarts the journal."""
        try:
            if doc is None:
                assert self._journal is not None
                self._journal.append(records)
            elif self._journal is None:
                self._checkpointer.save(doc, sync_directory=barrier)
            else:
                # NB: the checkpoint's rename is durable before the new journal's: a journal never outlives its base.
                self._checkpointer.save(doc, sync_directory=True)
                self._journal.restart(int(doc["generation"]))
                self._compact = False
        except Exception as e:
            raise LedgerError(f"cannot persist the IP ledger: {e}") from e

    def _restore(self, doc: Mapping[str, Any] | None) -> None:
        doc = doc or {"version": FORMAT_VERSION}
        if doc.get("version") not in _READABLE_VERSIONS:
            raise LedgerError(f"unsupported ledger format version {doc.get('version')!r}")
        try:
            generation = int(doc.get("generation", 0))
            for raw in doc.get("allocations", []):
                self._put_locked(_alloc_from_json(raw))
            for ip, at in sorted(doc.get("releasedAt", {}).items(), key=lambda item: float(item[1])):
                self._released_at[IPv4Address(ip)] = float(at)
            self._promised = {IPv4Address(ip) for ip in doc.get("promised", [])}
            records = self._journal.read(generation) if self._journal is not None else []
            for record in records:
                self._replay(record)
        except CheckpointError as e:
            raise LedgerError(f"corrupt ledger journal: {e}") from e
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise LedgerError(f"corrupt ledger checkpoint: {e!r}") from e
        self._generation = generation
        if len(self._owner) != len(self._by_key):
            raise LedgerError("corrupt ledger checkpoint: one IP recorded for two attachments")

    def _replay(self, record: Mapping[str, Any]) -> None:
        """Applies one journal record, as the change that wrote it did."""
        op = record["op"]
        if op == "assign":
            alloc = _alloc_from_json(record)
            self._drop_locked(alloc.key)
            if alloc.ip in self._owner:
                raise ValueError(f"the journal gives {alloc.ip} to a second attachment")
            self._put_locked(alloc)
            self._released_at.pop(alloc.ip, None)
        elif op == "release":
            self._drop_locked(_key_from_json(record))
            ip = IPv4Address(str(record["ip"]))
            self._released_at.pop(ip, None)
            self._released_at[ip] = float(record["at"])
        elif op == "promised":
            self._promised = {IPv4Address(str(ip)) for ip in record["ips"]}
        else:
            raise ValueError(f"unknown journal record {op!r}")


def _nothing() -> None:
    """The undo of a call that changed nothing."""


def _exhausted_message(pool: PoolView, pod: PodRef, *, in_use: int, held: int) -> str:
    shared = [e for e in pool.enis if e.shared]
    if not shared:
        # NB: in static-IP mode a node's first pod waits here, before ipamd reserved anything on the node.
        waiting = f" (in static-IP mode: waiting for ipamd to assign the static IP of {pod})" if pod.name else ""
        return f"no IP free yet: no ENI with secondary IPs is bound to this node{waiting}"
    return f"no IP free yet: {in_use} in use, {held} cooling down or being released, on {len(shared)} ENI(s)"


def _key_to_json(key: AttachmentKey) -> dict[str, Any]:
    return {"network": key.network_name, "containerId": key.container_id, "ifname": key.ifname}


def _key_from_json(raw: Mapping[str, Any]) -> AttachmentKey:
    return AttachmentKey(network_name=str(raw["network"]), container_id=str(raw["containerId"]),
                         ifname=str(raw["ifname"]))


def _alloc_to_json(a: Allocation) -> dict[str, Any]:
    return {**_key_to_json(a.key), "podNamespace": a.pod.namespace, "podName": a.pod.name, "podUid": a.pod.uid,
            "ip": str(a.ip), "eniId": a.eni_id, "eniMac": a.eni_mac, "allocatedAt": a.allocated_at}


def _alloc_from_json(raw: Mapping[str, Any]) -> Allocation:
    pod = PodRef(namespace=str(raw.get("podNamespace", "")), name=str(raw.get("podName", "")),
                 uid=str(raw.get("podUid", "")))
    return Allocation(key=_key_from_json(raw), pod=pod, ip=IPv4Address(str(raw["ip"])),
                      eni_id=str(raw.get("eniId", "")), eni_mac=str(raw.get("eniMac", "")),
                      allocated_at=float(raw["allocatedAt"]))
