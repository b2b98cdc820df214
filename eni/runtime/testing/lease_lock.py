"""FakeLeaseLock: an in-memory Lease with real optimistic concurrency, for elector tests on a FakeClock.

Several candidates share one ``FakeLease`` through ``FakeLease.lock_for(identity)``. A write with a stale
resourceVersion raises ConflictError exactly as the API server would; ``fail_writes``/``fail_reads`` make one
candidate's calls fail at once (a partitioned leader). ``stall()`` makes its calls (or only some methods) hang,
as requests to a stuck API server do: each blocks until ``release()`` (then it goes through) or until its
timeout passes on the lease's clock (then it raises TransportError and changes nothing). With
``honour_timeouts = False`` a stalled call ignores its timeout, like a client that cannot be interrupted.
Every call's timeout is recorded in ``calls`` so tests can check what the elector allowed it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eni.runtime.client.errors import AlreadyExistsError, ConflictError, TransportError
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.leaderelection.lease_lock import LeaderElectionRecord

# A call without a timeout still may not hang a test forever (clock seconds).
_UNBOUNDED_CALL_SECONDS = 3600.0


class FakeLease:
    """The shared Lease state."""

    def __init__(self, *, clock: Clock = REAL_CLOCK) -> None:
        self._lock = threading.Lock()
        self.clock = clock
        self.record: LeaderElectionRecord | None = None
        self.version = 0
        self.writes = 0

    def lock_for(self, identity: str) -> FakeLeaseLock:
        return FakeLeaseLock(identity, self)

    def read(self) -> tuple[LeaderElectionRecord, str] | None:
        with self._lock:
            return None if self.record is None else (self.record, str(self.version))

    def write(self, record: LeaderElectionRecord, expected_version: str | None) -> str:
        with self._lock:
            if expected_version is None:
                if self.record is not None:
                    raise AlreadyExistsError(409, "AlreadyExists", "lease exists")
            elif self.record is None or expected_version != str(self.version):
                raise ConflictError(409, "Conflict", "the lease has been modified")
            self.record = record
            self.version += 1
            self.writes += 1
            return str(self.version)


@dataclass(frozen=True, slots=True)
class LockCall:
    method: str
    timeout: float | None
    at: float
    """The lease clock's monotonic time when the call started."""


class FakeLeaseLock:
    """One candidate's view of a FakeLease; implements ``eni.runtime.leaderelection.LeaseLock``."""

    def __init__(self, identity: str, lease: FakeLease | None = None) -> None:
        self.identity = identity
        self.lease = lease if lease is not None else FakeLease()
        self.fail_writes = False
        self.fail_reads = False
        self.honour_timeouts = True
        self.calls: list[LockCall] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._stalled_methods: frozenset[str] = frozenset()
        self._blocked = 0
        self._count_lock = threading.Lock()

    def stall(self, *methods: str) -> None:
        """From now on calls of ``methods`` ("get", "create", "update"; default all) hang until ``release``."""
        unknown = set(methods) - {"get", "create", "update"}
        if unknown:
            raise ValueError(f"unknown lease lock methods: {sorted(unknown)}")
        self._stalled_methods = frozenset(methods or ("get", "create", "update"))
        self._flowing.clear()

    def release(self) -> None:
        """Let hanging calls (and later ones) through."""
        self._flowing.set()

    def blocked_calls(self) -> int:
        """How many calls are hanging right now."""
        with self._count_lock:
            return self._blocked

    def _enter(self, method: str, timeout: float | None) -> None:
        clock = self.lease.clock
        self.calls.append(LockCall(method, timeout, clock.monotonic()))
        if self._flowing.is_set() or method not in self._stalled_methods:
            return
        with self._count_lock:
            self._blocked += 1
        try:
            limit = timeout if timeout is not None and self.honour_timeouts else _UNBOUNDED_CALL_SECONDS
            if not clock.wait(self._flowing, limit):
                raise TransportError(f"{method} lease: timed out after {timeout} s")
        finally:
            with self._count_lock:
                self._blocked -= 1

    def get(self, *, timeout: float | None = None) -> tuple[LeaderElectionRecord, str] | None:
        self._enter("get", timeout)
        if self.fail_reads:
            raise TransportError("injected read failure")
        return self.lease.read()

    def create(self, record: LeaderElectionRecord, *, timeout: float | None = None) -> str:
        self._enter("create", timeout)
        if self.fail_writes:
            raise TransportError("injected write failure")
        return self.lease.write(record, None)

    def update(self, record: LeaderElectionRecord, resource_version: str, *, timeout: float | None = None) -> str:
        self._enter("update", timeout)
        if self.fail_writes:
            raise TransportError("injected write failure")
        return self.lease.write(record, resource_version)

    def describe(self) -> str:
        return "fake-lease"
