"""The Elector: acquire a Lease, renew it, and report losing it (client-go's tools/leaderelection).

Timing follows client-go exactly. Candidates retry every ``retry_period`` with jitter until the lease is free
or its holder has not renewed for ``lease_duration`` (judged by when *we* last saw the record change, so clock
skew between machines does not matter). The leader renews every ``retry_period``; if no renewal succeeds within
``renew_deadline`` it stops leading and calls ``on_stopped_leading``. Settings must satisfy
``lease_duration > renew_deadline > 1.2 * retry_period > 0``. There is no fencing and no graceful step-down:
after losing the lease the process must exit at once.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.leaderelection.lease_lock import LeaderElectionRecord, LeaseLock

log = kvlog.get_logger(__name__)

JITTER_FACTOR = 1.2


@dataclass(frozen=True, slots=True)
class LeaderElectionSettings:
    """Lease timings in seconds; client-go's defaults."""

    lease_duration: float = 15.0
    """How long a lease is valid after its last renewal, as seen by the other candidates."""
    renew_deadline: float = 10.0
    """How long the leader keeps retrying a renewal before it gives up leadership."""
    retry_period: float = 2.0
    """Pause between acquire or renew attempts."""

    def validate(self) -> None:
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if not self.renew_deadline > JITTER_FACTOR * self.retry_period:
            raise ValueError("renew_deadline must be greater than 1.2 * retry_period")
        if not self.retry_period > 0:
            raise ValueError("retry_period must be greater than zero")


class Elector:
    """Runs one candidate's election loop; ``run`` returns when leadership is lost or ``stop`` is set."""

    def __init__(
        self,
        lock: LeaseLock,
        *,
        settings: LeaderElectionSettings = LeaderElectionSettings(),
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        on_new_leader: Callable[[str], None] | None = None,
        clock: Clock = REAL_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        settings.validate()
        self.lock = lock
        self.settings = settings
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._clock = clock
        self._rng = rng or random.Random()
        self._observed: LeaderElectionRecord | None = None
        self._observed_at = 0.0
        self._reported_leader = ""
        self._leading = threading.Event()

    def is_leader(self) -> bool:
        return self._leading.is_set()

    def leader(self) -> str:
        """The holder identity last observed ("" if none yet)."""
        return self._observed.holder_identity if self._observed else ""

    def run(self, stop: threading.Event) -> None:
        """Acquire, lead, renew; calls ``on_stopped_leading`` whenever it had called ``on_started_leading``."""
        if not self._acquire(stop):
            return
        self._leading.set()
        log.info("Acquired lease", lock=self.lock.describe(), identity=self.lock.identity)
        try:
            self._on_started()
            self._renew(stop)
        finally:
            self._leading.clear()
            self._on_stopped()

    def _acquire(self, stop: threading.Event) -> bool:
        period = self.settings.retry_period
        while not stop.is_set():
            if self.try_acquire_or_renew():
                return True
            self._clock.wait(stop, period + self._rng.random() * JITTER_FACTOR * period)
        return False

    def _renew(self, stop: threading.Event) -> None:
        period = self.settings.retry_period
        while not stop.is_set():
            deadline = self._clock.monotonic() + self.settings.renew_deadline
            while not self.try_acquire_or_renew():
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    log.info("Lost lease", lock=self.lock.describe(), identity=self.lock.identity)
                    return
                if self._clock.wait(stop, min(period, remaining)):
                    return
            self._clock.wait(stop, period)

    def try_acquire_or_renew(self) -> bool:
        """One round of the protocol; True when this candidate holds the lease afterwards."""
        now = self._clock.now()
        duration = int(self.settings.lease_duration)
        me = self.lock.identity
        try:
            current = self.lock.get()
            if current is None:
                record = LeaderElectionRecord(me, duration, now, now, 0)
                self.lock.create(record)
                self._observe(record)
                return True
            record, version = current
            self._observe(record)
            held_by_other = record.holder_identity not in ("", me)
            if held_by_other and self._observed_at + record.lease_duration_seconds > self._clock.monotonic():
                return False
            if record.holder_identity == me:
                desired = replace(record, lease_duration_seconds=duration, renew_time=now)
            else:
                desired = LeaderElectionRecord(me, duration, now, now, record.leader_transitions + 1)
            self.lock.update(desired, version)
            self._observe(desired)
            return True
        except ApiError as e:
            log.debug("Lease attempt failed", lock=self.lock.describe(), error=str(e))
            return False

    def _observe(self, record: LeaderElectionRecord) -> None:
        if record != self._observed:
            self._observed = record
            self._observed_at = self._clock.monotonic()
        if record.holder_identity != self._reported_leader:
            self._reported_leader = record.holder_identity
            if self._on_new_leader is not None and record.holder_identity:
                self._on_new_leader(record.holder_identity)

    def check(self, *, max_tolerable_expiry: float = 20.0) -> None:
        """Healthz: raise when we believe we lead but have not renewed for lease_duration + tolerance."""
        if not self._leading.is_set():
            return
        if self._clock.monotonic() - self._observed_at > self.settings.lease_duration + max_tolerable_expiry:
            raise RuntimeError("failed to renew the lease in time")
