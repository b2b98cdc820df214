"""Leader election timing with a FakeClock and an in-memory Lease."""

import random
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from eni.runtime.leaderelection import Elector, LeaderElectionSettings, LeaseLock
from eni.runtime.testing import FakeClock, FakeLease, FakeLeaseLock

_: LeaseLock = FakeLeaseLock("x")


def elector(lock, clock, **callbacks):
    return Elector(
        lock,
        settings=LeaderElectionSettings(),
        on_started_leading=callbacks.get("started", lambda: None),
        on_stopped_leading=callbacks.get("stopped", lambda: None),
        on_new_leader=callbacks.get("new_leader"),
        clock=clock,
        rng=random.Random(1),
    )


@pytest.mark.parametrize(
    ("lease", "renew", "retry"),
    [(10, 10, 2), (15, 10, 9), (15, 10, 0), (15, 2.3, 2)],
)
def test_invalid_timings_are_rejected(lease, renew, retry):
    with pytest.raises(ValueError):
        LeaderElectionSettings(lease_duration=lease, renew_deadline=renew, retry_period=retry).validate()


def test_defaults_are_client_go_and_valid():
    settings = LeaderElectionSettings()
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    settings.validate()


def test_first_candidate_creates_the_lease_and_second_is_refused_until_it_expires():
    clock = FakeClock()
    lease = FakeLease()
    leaders = []
    a = elector(lease.lock_for("a"), clock, new_leader=leaders.append)
    b = elector(lease.lock_for("b"), clock, new_leader=leaders.append)
    assert a.try_acquire_or_renew()
    record = lease.record
    assert (record.holder_identity, record.lease_duration_seconds, record.leader_transitions) == ("a", 15, 0)
    assert record.acquire_time == record.renew_time == clock.now()
    assert not b.try_acquire_or_renew()
    clock.step(14.9)
    assert not b.try_acquire_or_renew(), "b saw the record 14.9 s ago: still valid"
    clock.step(0.2)
    assert b.try_acquire_or_renew(), "a has not renewed for longer than the lease: b takes over"
    assert lease.record.holder_identity == "b"
    assert lease.record.leader_transitions == 1
    assert leaders == ["a", "a", "b"], "each candidate reports every new holder it observes"


def test_renewal_keeps_acquire_time_and_moves_renew_time():
    clock = FakeClock()
    lease = FakeLease()
    a = elector(lease.lock_for("a"), clock)
    b = elector(lease.lock_for("b"), clock)
    assert a.try_acquire_or_renew()
    acquired = lease.record.acquire_time
    assert not b.try_acquire_or_renew()
    for _ in range(10):
        clock.step(2)
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew(), "a renewing leader is never displaced"
    assert lease.record.acquire_time == acquired
    assert lease.record.renew_time == acquired + timedelta(seconds=20)
    assert lease.record.leader_transitions == 0


def test_stale_write_loses_the_race():
    clock = FakeClock()
    lease = FakeLease()
    a_lock, b_lock = lease.lock_for("a"), lease.lock_for("b")
    a = elector(a_lock, clock)
    assert a.try_acquire_or_renew()
    record, version = b_lock.get()
    assert a.try_acquire_or_renew()  # a renews: the version b read is now stale
    from eni.runtime.client.errors import ConflictError

    with pytest.raises(ConflictError):
        b_lock.update(record, version)


def test_leader_stops_leading_when_renewals_fail_for_the_renew_deadline():
    clock = FakeClock()
    lock = FakeLease().lock_for("a")
    started, stopped = threading.Event(), threading.Event()
    e = elector(lock, clock, started=started.set, stopped=stopped.set)
    stop = threading.Event()
    runner = threading.Thread(target=e.run, args=(stop,))
    runner.start()
    try:
        assert started.wait(5)
        assert e.is_leader()
        lock.fail_writes = True
        elapsed = 0.0
        while not stopped.is_set() and elapsed < 30:
            clock.wait_for_waiters(1)
            clock.step(1)
            elapsed += 1
            stopped.wait(0.01)
        assert stopped.wait(5)
        # The acquisition at t=0 was the last success: leadership ends at exactly t=renew_deadline.
        assert elapsed == 10, elapsed
        assert not e.is_leader()
        runner.join(5)
        assert not runner.is_alive(), "run() returns once leadership is lost"
    finally:
        stop.set()
        runner.join(5)


def test_stop_before_acquiring_returns_without_callbacks():
    clock = FakeClock()
    lease = FakeLease()
    assert elector(lease.lock_for("holder"), clock).try_acquire_or_renew()
    calls = []
    e = elector(lease.lock_for("b"), clock, started=lambda: calls.append("started"),
                stopped=lambda: calls.append("stopped"))
    stop = threading.Event()
    runner = threading.Thread(target=e.run, args=(stop,))
    runner.start()
    clock.wait_for_waiters(1)
    stop.set()
    runner.join(5)
    assert not runner.is_alive()
    assert calls == []


def test_healthz_check_fails_when_the_leader_stopped_renewing():
    clock = FakeClock()
    e = elector(FakeLease().lock_for("a"), clock)
    e.check()  # not leading: healthy
    assert e.try_acquire_or_renew()
    e._leading.set()
    e.check()
    clock.step(15 + 20 + 1)
    with pytest.raises(RuntimeError):
        e.check()


# -- the renew deadline is a hard bound ----------------------------------------------------------------------


class Candidate:
    """An elector running on its own thread over a FakeLease, recording the fake time of its callbacks."""

    def __init__(self, lease, clock, identity):
        self.clock = clock
        self.lock = lease.lock_for(identity)
        self.started_at = None
        self.stopped_at = None
        self.started, self.stopped = threading.Event(), threading.Event()
        self.leaders = []
        self.elector = Elector(
            self.lock,
            settings=LeaderElectionSettings(),
            on_started_leading=self._on_started,
            on_stopped_leading=self._on_stopped,
            on_new_leader=self.leaders.append,
            clock=clock,
            rng=random.Random(identity),
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.elector.run, args=(self.stop,), daemon=True)

    def _on_started(self):
        self.started_at = self.clock.monotonic()
        self.started.set()

    def _on_stopped(self):
        self.stopped_at = self.clock.monotonic()
        self.stopped.set()

    def halt(self):
        self.stop.set()
        self.lock.release()
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def candidates():
    made = []

    def make(lease, clock, identity):
        c = Candidate(lease, clock, identity)
        made.append(c)
        c.thread.start()
        return c

    yield make
    for c in made:
        c.halt()


def settle(clock, parties):
    """Wait (real time, bounded) until every running elector waits on the clock for a future instant."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        now = clock.monotonic()
        running = sum(c.thread.is_alive() for c in parties)
        # NB: a woken waiter leaves the FakeClock's table a few ms after the step that woke it.
        pending = [w for w in list(clock._waiters.values()) if w.deadline > now]
        if len(pending) >= running and len(pending) == clock.waiter_count():
            return
        time.sleep(0.001)
    raise TimeoutError("electors did not settle on the FakeClock")


def advance(clock, seconds, *parties, step=0.5):
    for _ in range(round(seconds / step)):
        settle(clock, parties)
        clock.step(step)
    settle(clock, parties)


def wait_for(predicate, message):
    deadline = time.monotonic() + 5
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.001)


def test_hung_update_loses_leadership_exactly_at_the_renew_deadline(candidates):
    clock = FakeClock()
    lease = FakeLease(clock=clock)
    a = candidates(lease, clock, "a")
    assert a.started.wait(5)
    t0 = clock.monotonic()
    assert a.elector.leading_until() == t0 + 10
    advance(clock, 2, a)  # one quick renewal at t0+2
    wait_for(lambda: a.elector.leading_until() == t0 + 12, "the renewal at t0+2 must count")
    renewed_at = lease.record.renew_time
    a.lock.stall("update")
    advance(clock, 2, a)  # the renewal at t0+4 reads the lease, then its update hangs
    wait_for(lambda: a.lock.blocked_calls() == 1, "the update must hang")
    update = a.lock.calls[-1]
    assert (update.method, update.at) == ("update", t0 + 4)
    assert update.timeout == pytest.approx(8.0), "each call gets only the time left until the deadline"
    advance(clock, 7.5, a)
    assert clock.monotonic() == t0 + 11.5
    assert not a.stopped.is_set() and a.elector.is_leader()
    clock.step(0.5)
    assert a.stopped.wait(5), "leadership ends at last renewal + renew_deadline"
    assert a.stopped_at == t0 + 12
    assert not a.elector.is_leader()
    a.thread.join(5)
    assert not a.thread.is_alive()
    wait_for(lambda: a.lock.blocked_calls() == 0, "the hung update times out with its deadline")
    a.lock.release()
    assert lease.record.renew_time == renewed_at, "the timed-out update wrote nothing"
    assert all(c.timeout is not None and c.at + c.timeout <= t0 + 12 for c in a.lock.calls[2:])


def test_a_call_that_ignores_its_timeout_is_abandoned_and_its_late_result_ignored(candidates):
    clock = FakeClock()
    lease = FakeLease(clock=clock)
    a = candidates(lease, clock, "a")
    assert a.started.wait(5)
    t0 = clock.monotonic()
    a.lock.honour_timeouts = False
    a.lock.stall()
    advance(clock, 2, a)
    wait_for(lambda: a.lock.blocked_calls() == 1, "the read must hang")
    for _ in range(16):
        clock.step(0.5)
    assert a.stopped.wait(5)
    assert a.stopped_at == t0 + 10
    assert a.lock.blocked_calls() == 1, "the read is still in flight when leadership ends"
    lease.write(replace(lease.record, holder_identity="b"), str(lease.version))
    a.lock.release()
    wait_for(lambda: a.lock.blocked_calls() == 0, "the released read finishes")
    time.sleep(0.05)  # give the abandoned round the chance to (wrongly) record what it read
    assert a.elector.leader() == "a", "a late answer must not change what the elector believes"
    assert a.leaders == ["a"]
    assert not a.elector.is_leader()


def test_second_candidate_acquires_only_after_lease_duration_and_after_the_leader_stopped(candidates):
    clock = FakeClock()
    lease = FakeLease(clock=clock)
    a = candidates(lease, clock, "a")
    assert a.started.wait(5)
    b = candidates(lease, clock, "b")
    advance(clock, 8, a, b)
    assert lease.record.holder_identity == "a" and not b.started.is_set()
    a.lock.stall("update")
    for _ in range(8):
        if a.lock.blocked_calls() == 1:
            break
        advance(clock, 0.5, a, b)
    assert a.lock.blocked_calls() == 1, "a's next renewal must hang"
    until = a.elector.leading_until()
    last_success = until - 10
    for _ in range(60):
        if b.started.is_set():
            break
        advance(clock, 0.5, a, b)
    assert b.started.wait(5), "b takes over once the lease expired"
    assert a.stopped_at == until, "a gave up exactly at its deadline"
    assert b.started_at >= last_success + 15, "b waited a full lease_duration after a's last write"
    assert a.stopped_at < b.started_at
    assert lease.record.holder_identity == "b" and lease.record.leader_transitions == 1


def test_slow_renewal_within_the_deadline_keeps_leadership(candidates):
    clock = FakeClock()
    lease = FakeLease(clock=clock)
    a = candidates(lease, clock, "a")
    assert a.started.wait(5)
    b = candidates(lease, clock, "b")
    t0 = clock.monotonic()
    a.lock.stall("update")
    advance(clock, 2, a, b)
    wait_for(lambda: a.lock.blocked_calls() == 1, "the renewal at t0+2 must hang")
    advance(clock, 7.5, a, b)  # the update hangs for 7.5 s of its 8 s
    assert a.elector.is_leader()
    a.lock.release()
    wait_for(lambda: a.elector.leading_until() == t0 + 12, "the slow renewal counts from when it started")
    assert lease.record.renew_time == datetime_at(clock, t0 + 2)
    advance(clock, 40, a, b)
    assert a.elector.is_leader() and not a.stopped.is_set()
    assert not b.started.is_set()
    assert lease.record.holder_identity == "a" and lease.record.leader_transitions == 0


def datetime_at(clock, monotonic):
    """The FakeClock's wall time at a past monotonic instant."""
    return clock.now() - timedelta(seconds=clock.monotonic() - monotonic)


def test_each_round_is_bounded_by_its_timeout():
    clock = FakeClock()
    lock = FakeLease(clock=clock).lock_for("a")
    e = elector(lock, clock)
    assert e.try_acquire_or_renew(timeout=3)
    assert [(c.method, c.timeout) for c in lock.calls] == [("get", 3), ("create", 3)]
    assert not e.try_acquire_or_renew(timeout=0), "no time left: no call is made"
    assert len(lock.calls) == 2


def test_stop_during_a_hung_renewal_returns_without_waiting_for_the_deadline(candidates):
    clock = FakeClock()
    lease = FakeLease(clock=clock)
    a = candidates(lease, clock, "a")
    assert a.started.wait(5)
    a.lock.stall()
    advance(clock, 2, a)
    wait_for(lambda: a.lock.blocked_calls() == 1, "the renewal must hang")
    a.stop.set()  # no clock step: only the stop request can end the wait
    a.thread.join(5)
    assert not a.thread.is_alive()
    assert a.stopped.is_set() and a.stopped_at == clock.monotonic()
