"""Leader election timing with a FakeClock and an in-memory Lease."""

import random
import threading
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
        # 2 s until the first renewal attempt, then the 10 s renew deadline.
        assert 10 <= elapsed <= 13, elapsed
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
