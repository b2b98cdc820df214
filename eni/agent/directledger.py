"""The node's ledger of exclusive (direct) ENIs: which attachment holds which whole ENI, persisted crash-safely.

Why this shape: an attachment (CNI network name, container id, ifname) holds either a pod IP (``Ledger``) or a
whole ENI (this ledger); which of the two ledgers knows a key is the attachment's kind, so DEL, CHECK and GC
never need the pod object. The record is durable BEFORE the caller moves the ENI into the pod: ``kill -9`` at
any instant leaves either no record and the ENI untouched in the node's namespace, or a record that the
runtime's DEL (or a retried ADD, which gets the same ENI) acts on. ENIs promised back to ipamd through
``promise_release`` are never handed out again. Direct ENIs are few and their ADDs rare, so every change is
saved under the ledger's lock (no group commit).

Must never: return an assignment whose record is not durable, keep an in-memory change whose save failed, give
one ENI to two attachments, or hand out an ENI that is promised back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from eni.agent.directpool import DirectEni, DirectPool, releasable_enis
from eni.agent.errors import LedgerError
from eni.agent.ledger import AttachmentKey, Checkpointer
from eni.agent.pool import PodRef

__all__ = ["Chooser", "DirectAllocation", "DirectLedger"]

FORMAT_VERSION = 1

Chooser = Callable[[frozenset[str], frozenset[str]], tuple[DirectEni, str]]
"""Picks (ENI, its link's name in the node namespace) given the ENI ids in use and promised back; raises an
``AgentError`` (e.g. ``PoolExhaustedError``) when none fits."""


@dataclass(frozen=True, slots=True)
class DirectAllocation:
    """One attachment holding a whole ENI: enough to move it back and to check it without the NEC or the pod."""

    key: AttachmentKey
    pod: PodRef
    eni_id: str
    eni_mac: str
    address: IPv4Interface
    """The ENI's primary IP with its subnet's prefix length."""
    gateway: IPv4Address
    link_name: str
    """The link's name in the node namespace before it moved; it gets it back on DEL."""
    netns: str
    """The pod's network namespace at ADD."""
    allocated_at: float

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip


class DirectLedger:
    """Thread-safe; every change is saved before its method returns and undone if the save fails."""

    def __init__(self, checkpointer: Checkpointer, *, clock: Callable[[], float] = time.time) -> None:
        self._checkpointer = checkpointer
        self._clock = clock
        self._lock = threading.Lock()
        # Invariant: no ENI id twice in _by_key, and none of them in _promised.
        self._by_key: dict[AttachmentKey, DirectAllocation] = {}
        self._promised: frozenset[str] = frozenset()
        self._restore(checkpointer.load())

    # --- queries -------------------------------------------------------------------------------------

    def get(self, key: AttachmentKey) -> DirectAllocation | None:
        with self._lock:
            return self._by_key.get(key)

    def allocations(self) -> list[DirectAllocation]:
        with self._lock:
            return sorted(self._by_key.values(), key=lambda a: (a.allocated_at, a.eni_id))

    def in_use(self) -> frozenset[str]:
        """The ENI ids held by attachments."""
        with self._lock:
            return frozenset(a.eni_id for a in self._by_key.values())

    def promised(self) -> frozenset[str]:
        with self._lock:
            return self._promised

    # --- changes -------------------------------------------------------------------------------------

    def assign(self, key: AttachmentKey, pod: PodRef, *, netns: str, choose: Chooser) -> tuple[DirectAllocation, bool]:
        """The key's allocation (existing, or a new durable one from ``choose``) and whether it is new.

        Raises what ``choose`` raises when nothing fits, and ``LedgerError`` when the record cannot be saved.
        """
        with self._lock:
            existing = self._by_key.get(key)
            if existing is not None:
                return existing, False
            in_use = frozenset(a.eni_id for a in self._by_key.values())
            eni, link_name = choose(in_use, self._promised)
            if eni.eni_id in in_use or eni.eni_id in self._promised:
                raise LedgerError(f"refusing to give ENI {eni.eni_id} twice")  # NB: a chooser bug, not a user error
            alloc = DirectAllocation(key=key, pod=pod, eni_id=eni.eni_id, eni_mac=eni.mac, address=eni.address,
                                     gateway=eni.gateway, link_name=link_name, netns=netns,
                                     allocated_at=self._clock())
            self._by_key[key] = alloc
            try:
                self._save_locked()
            except LedgerError:
                del self._by_key[key]
                raise
            return alloc, True

    def release(self, key: AttachmentKey) -> DirectAllocation | None:
        """Forgets the key's ENI (durably); None when the key holds none (idempotent)."""
        with self._lock:
            alloc = self._by_key.pop(key, None)
            if alloc is None:
                return None
            try:
                self._save_locked()
            except LedgerError:
                self._by_key[key] = alloc
                raise
            return alloc

    def promise_release(self, pool: DirectPool, *, present: Mapping[str, str]) -> frozenset[str]:
        """Promises never to hand out again the Releasing ENIs that are free and home; returns every promised id.

        A promise ends when its ENI leaves the status (ipamd detached it) or is Bound again (ipamd kept it). The
        caller publishes the result as ``status.agent.releasedENIs`` only after this returns.
        """
        with self._lock:
            in_use = {a.eni_id for a in self._by_key.values()}
            still = {eni_id for eni_id in self._promised
                     if (eni := pool.by_id(eni_id)) is not None and eni.releasing}
            wanted = frozenset(still | releasable_enis(pool, in_use=in_use, present=present))
            if wanted != self._promised:
                previous, self._promised = self._promised, wanted
                try:
                    self._save_locked()
                except LedgerError:
                    self._promised = previous
                    raise
            return self._promised

    # --- persistence ---------------------------------------------------------------------------------

    def _save_locked(self) -> None:
        doc = {
            "version": FORMAT_VERSION,
            "allocations": [_to_json(a) for a in self._by_key.values()],
            "promised": sorted(self._promised),
        }
        try:
            self._checkpointer.save(doc)
        except Exception as e:
            raise LedgerError(f"cannot persist the exclusive-ENI ledger: {e}") from e

    def _restore(self, doc: Mapping[str, Any] | None) -> None:
        if doc is None:
            return
        if doc.get("version") != FORMAT_VERSION:
            raise LedgerError(f"unsupported exclusive-ENI ledger format version {doc.get('version')!r}")
        try:
            for raw in doc.get("allocations", []):
                alloc = _from_json(raw)
                self._by_key[alloc.key] = alloc
            self._promised = frozenset(str(eni_id) for eni_id in doc.get("promised", []))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise LedgerError(f"corrupt exclusive-ENI ledger checkpoint: {e!r}") from e
        held = [a.eni_id for a in self._by_key.values()]
        if len(held) != len(set(held)) or set(held) & self._promised:
            raise LedgerError("corrupt exclusive-ENI ledger checkpoint: an ENI recorded twice")


def _to_json(a: DirectAllocation) -> dict[str, Any]:
    return {
        "network": a.key.network_name,
        "containerId": a.key.container_id,
        "ifname": a.key.ifname,
        "podNamespace": a.pod.namespace,
        "podName": a.pod.name,
        "podUid": a.pod.uid,
        "eniId": a.eni_id,
        "eniMac": a.eni_mac,
        "address": str(a.address),
        "gateway": str(a.gateway),
        "linkName": a.link_name,
        "netns": a.netns,
        "allocatedAt": a.allocated_at,
    }


def _from_json(raw: Mapping[str, Any]) -> DirectAllocation:
    return DirectAllocation(
        key=AttachmentKey(network_name=str(raw["network"]), container_id=str(raw["containerId"]),
                          ifname=str(raw["ifname"])),
        pod=PodRef(namespace=str(raw.get("podNamespace", "")), name=str(raw.get("podName", "")),
                   uid=str(raw.get("podUid", ""))),
        eni_id=str(raw["eniId"]),
        eni_mac=str(raw["eniMac"]),
        address=IPv4Interface(str(raw["address"])),
        gateway=IPv4Address(str(raw["gateway"])),
        link_name=str(raw["linkName"]),
        netns=str(raw.get("netns", "")),
        allocated_at=float(raw["allocatedAt"]),
    )
