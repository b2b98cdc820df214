"""The Elector: acquire a Lease, renew it, and report losing it (client-go's tools/leaderelection).

Timing follows client-go. Candidates retry every ``retry_period`` with jitter until the lease is free or its
holder has not renewed for ``lease_duration`` (judged by when *we* last saw the record change, so clock skew
between machines does not matter). The leader renews every ``retry_period``.

The renew deadline is a hard bound: a round that succeeds is dated from the instant it *started* (before its
read), and the leader stops leading at that instant + ``renew_deadline`` unless a later round has succeeded by
then. Every lock call gets a timeout of the time left until that instant, and a call still in flight when it
passes is abandoned: its result is ignored. Since no other candidate can see our last write before the round
that made it started, none can take over before that start + ``lease_duration``; ``lease_duration -
renew_deadline`` is the margin the process has to exit. Settings must satisfy ``lease_duration >
renew_deadline > 1.2 * retry_period > 0``. There is no fencing and no graceful step-down: after losing the lease
the process must exit at once.
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

# How often a round in flight checks for a stop request (real seconds; only while a lock call is running).
_STOP_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class LeaderElectionSettings:
    """Lease timings in seconds; client-go's defaults."""

    lease_duration: float = 15.0
    """How long a lease is valid after its last renewal, as seen by the other candidates."""
    renew_deadline: float = 10.0
    """How long after the start of its last successful renewal the leader gives up leadership (a hard bound)."""
    retry_period: float = 2.0
    """Pause between acquire or renew attempts."""

    def validate(self) -> None:
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if not self.renew_deadline > JITTER_FACTOR * self.retry_period:
            raise ValueError("renew_deadline must be greater than 1.2 * retry_period")
        if not self.retry_period > 0:
            raise ValueError("retry_period must be greater than zero")


class _DeadlinePassed(Exception):
    """Raised inside a round when no time is left for its next lock call."""


class _Round:
    """One try_acquire_or_renew attempt bounded by a monotonic deadline; abandoned rounds change nothing."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.done = threading.Event()
        self.wake = threading.Event()
        """Set when the round is done or the elector is asked to stop."""
        self.succeeded = False
        self._guard = threading.Lock()
        self._abandoned = False

    def finish(self, *, succeeded: bool) -> None:
        self.succeeded = succeeded
        self.done.set()
        self.wake.set()

    def relay_stop(self, stop: threading.Event) -> None:
        """Wake the waiting elector when ``stop`` is set before the round ends (an Event cannot be chained)."""
        while not self.done.is_set():
            with self._guard:
                if self._abandoned:
                    return
            if stop.wait(_STOP_POLL_SECONDS):
                self.wake.set()
                return

    def settle(self, *, in_time: bool) -> bool:
        """Close the round: True if it finished (``in_time``); from now on its effects are ignored."""
        with self._guard:
            self._abandoned = True
            return in_time and self.done.is_set()

    def apply(self, effect: Callable[[], None]) -> bool:
        """Run ``effect`` unless the round has been abandoned; False when it was."""
        with self._guard:
            if self._abandoned:
                return False
            effect()
            return True


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
        self._state = threading.Lock()
        self._observed: LeaderElectionRecord | None = None
        self._observed_at = 0.0
        self._reported_leader = ""
        self._leading = threading.Event()
        self._last_renew: float | None = None

    def is_leader(self) -> bool:
        return self._leading.is_set()

    def leader(self) -> str:
        """The holder identity last observed ("" if none yet)."""
        with self._state:
            return self._observed.holder_identity if self._observed else ""

    def leading_until(self) -> float | None:
        """The monotonic instant at which leadership ends unless renewed (None when not leading)."""
        if not self._leading.is_set() or self._last_renew is None:
            return None
        return self._last_renew + self.settings.renew_deadline

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
            started = self._clock.monotonic()
            # A candidate has nothing to lose yet; renew_deadline just bounds how long one attempt may hang.
            if self._bounded_round(started + self.settings.renew_deadline, stop):
                self._last_renew = started
                return True
            self._clock.wait(stop, period + self._rng.random() * JITTER_FACTOR * period)
        return False

    def _renew(self, stop: threading.Event) -> None:
        period = self.settings.retry_period
        while not self._clock.wait(stop, period):
            while True:
                assert self._last_renew is not None
                deadline = self._last_renew + self.settings.renew_deadline
                started = self._clock.monotonic()
                if started < deadline and self._bounded_round(deadline, stop):
                    self._last_renew = started
                    break
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    log.info("Lost lease: no renewal within the renew deadline", lock=self.lock.describe(),
                             identity=self.lock.identity, renew_deadline=self.settings.renew_deadline)
                    return
                if self._clock.wait(stop, min(period, remaining)):
                    return

    def _bounded_round(self, deadline: float, stop: threading.Event) -> bool:
        """One round on its own thread; False if it fails, is still running when ``deadline`` passes, or ``stop``
        is set first."""
        attempt = _Round(deadline)
        threading.Thread(target=self._round, args=(attempt,), name="lease-round", daemon=True).start()
        threading.Thread(target=attempt.relay_stop, args=(stop,), name="lease-round-stop", daemon=True).start()
        self._clock.wait(attempt.wake, deadline - self._clock.monotonic())
        # The result counts only if the round finished strictly before the deadline; a late one is ignored.
        if not attempt.settle(in_time=self._clock.monotonic() < deadline):
            log.info("Lease round abandoned unfinished", lock=self.lock.describe(), stopping=stop.is_set())
            return False
        return attempt.succeeded

    def _round(self, attempt: _Round) -> None:
        succeeded = False
        try:
            succeeded = self._try(attempt)
        finally:
            attempt.finish(succeeded=succeeded)

    def try_acquire_or_renew(self, *, timeout: float | None = None) -> bool:
        """One round of the protocol, run on the caller's thread; True when this candidate holds the lease after.

        ``timeout`` bounds the whole round (each lock call gets what is left); None means renew_deadline.
        """
        budget = self.settings.renew_deadline if timeout is None else timeout
        return self._try(_Round(self._clock.monotonic() + budget))

    def _try(self, attempt: _Round) -> bool:
        now = self._clock.now()
        duration = int(self.settings.lease_duration)
        me = self.lock.identity
        try:
            current = self.lock.get(timeout=self._time_left(attempt))
            if current is None:
                record = LeaderElectionRecord(me, duration, now, now, 0)
                self.lock.create(record, timeout=self._time_left(attempt))
                return attempt.apply(lambda: self._observe(record))
            record, version = current
            if not attempt.apply(lambda: self._observe(record)):
                return False
            held_by_other = record.holder_identity not in ("", me)
            with self._state:
                observed_at = self._observed_at
            if held_by_other and observed_at + record.lease_duration_seconds > self._clock.monotonic():
                return False
            if record.holder_identity == me:
                desired = replace(record, lease_duration_seconds=duration, renew_time=now)
            else:
                desired = LeaderElectionRecord(me, duration, now, now, record.leader_transitions + 1)
            self.lock.update(desired, version, timeout=self._time_left(attempt))
            return attempt.apply(lambda: self._observe(desired))
        except (ApiError, _DeadlinePassed) as e:
            log.debug("Lease attempt failed", lock=self.lock.describe(), error=str(e) or type(e).__name__)
            return False

    def _time_left(self, attempt: _Round) -> float:
        left = attempt.deadline - self._clock.monotonic()
        if left <= 0:
            raise _DeadlinePassed()
        return left

    def _observe(self, record: LeaderElectionRecord) -> None:
        with self._state:
            if record != self._observed:
                self._observed = record
                self._observed_at = self._clock.monotonic()
            changed = record.holder_identity != self._reported_leader
            self._reported_leader = record.holder_identity
        if changed and self._on_new_leader is not None and record.holder_identity:
            self._on_new_leader(record.holder_identity)

    def check(self, *, max_tolerable_expiry: float = 20.0) -> None:
        """Healthz: raise when we believe we lead but have not renewed for lease_duration + tolerance."""
        if not self._leading.is_set():
            return
        with self._state:
            observed_at = self._observed_at
        if self._clock.monotonic() - observed_at > self.settings.lease_duration + max_tolerable_expiry:
            raise RuntimeError("failed to renew the lease in time")
