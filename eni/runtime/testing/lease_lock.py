"""FakeLeaseLock: an in-memory Lease with real optimistic concurrency, for elector tests on a FakeClock.

Several candidates share one ``FakeLease`` through ``FakeLease.lock_for(identity)``. A write with a stale
resourceVersion raises ConflictError exactly as the API server would; ``fail_writes`` makes every write of
one candidate fail (a partitioned leader) so renew-deadline behaviour can be tested.
"""

from __future__ import annotations

import threading

from eni.runtime.client.errors import AlreadyExistsError, ConflictError, TransportError
from eni.runtime.leaderelection.lease_lock import LeaderElectionRecord


class FakeLease:
    """The shared Lease state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
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


class FakeLeaseLock:
    """One candidate's view of a FakeLease; implements ``eni.runtime.leaderelection.LeaseLock``."""

    def __init__(self, identity: str, lease: FakeLease | None = None) -> None:
        self.identity = identity
        self.lease = lease if lease is not None else FakeLease()
        self.fail_writes = False
        self.fail_reads = False

    def get(self) -> tuple[LeaderElectionRecord, str] | None:
        if self.fail_reads:
            raise TransportError("injected read failure")
        return self.lease.read()

    def create(self, record: LeaderElectionRecord) -> str:
        if self.fail_writes:
            raise TransportError("injected write failure")
        return self.lease.write(record, None)

    def update(self, record: LeaderElectionRecord, resource_version: str) -> str:
        if self.fail_writes:
            raise TransportError("injected write failure")
        return self.lease.write(record, resource_version)

    def describe(self) -> str:
        return "fake-lease"
