"""Delaying queue, rate limiters and the rate-limiting queue, driven by a FakeClock (no sleeps)."""

import pytest

from eni.runtime.testing import FakeClock
from eni.runtime.workqueue import (
    Bucket,
    DelayingQueue,
    ItemExponential,
    MaxOf,
    RateLimitingQueue,
    default_controller_rate_limiter,
)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def delaying(clock):
    q = DelayingQueue(name="d", clock=clock)
    yield q
    q.shut_down()


def test_add_after_releases_the_item_only_when_the_clock_reaches_its_time(clock, delaying):
    delaying.add_after("a", 10)
    clock.wait_for_waiters(1)
    clock.step(9.9)
    assert delaying.get(timeout=0.05) is None
    clock.step(0.1)
    assert delaying.get(timeout=5) == "a"


def test_delayed_items_come_out_in_ready_order(clock, delaying):
    delaying.add_after("late", 3)
    delaying.add_after("early", 1)
    delaying.add_after("middle", 2)
    clock.wait_for_waiters(1)
    clock.step(5)
    assert [delaying.get(5), delaying.get(5), delaying.get(5)] == ["early", "middle", "late"]


def test_waiting_twice_keeps_the_earlier_time(clock, delaying):
    delaying.add_after("a", 10)
    delaying.add_after("a", 2)
    delaying.add_after("a", 20)
    assert delaying.waiting_count() == 1
    clock.wait_for_waiters(1)
    clock.step(2)
    assert delaying.get(timeout=5) == "a"
    delaying.done("a")
    clock.step(30)
    assert delaying.get(timeout=0.05) is None, "the later duplicates must not fire again"


def test_non_positive_delay_adds_at_once(delaying):
    delaying.add_after("now", 0)
    assert delaying.get(timeout=1) == "now"


def test_shutdown_stops_the_waiter_and_drops_delayed_adds(clock):
    q = DelayingQueue(clock=clock)
    q.shut_down()
    q.add_after("a", 1)
    assert q.waiting_count() == 0
    assert not q._waiter.is_alive()


def test_item_exponential_doubles_to_its_cap_and_forgets():
    limiter = ItemExponential(0.005, 0.04)
    assert [limiter.when("a") for _ in range(6)] == [0.005, 0.01, 0.02, 0.04, 0.04, 0.04]
    assert limiter.when("b") == 0.005, "failures are per item"
    assert limiter.num_requeues("a") == 6
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.005


def test_item_exponential_survives_huge_failure_counts():
    limiter = ItemExponential(0.005, 1000)
    for _ in range(2000):
        delay = limiter.when("x")
    assert delay == 1000


def test_bucket_allows_a_burst_then_spaces_by_qps(clock):
    bucket = Bucket(qps=10, burst=3, clock=clock)
    assert [bucket.when(i) for i in range(3)] == [0, 0, 0]
    assert bucket.when(3) == pytest.approx(0.1)
    assert bucket.when(4) == pytest.approx(0.2)
    clock.step(10)
    assert bucket.when(5) == 0, "the bucket refills with time"


def test_max_of_takes_the_longest_delay(clock):
    limiter = MaxOf(ItemExponential(1, 100), Bucket(qps=1, burst=1, clock=clock))
    assert limiter.when("a") == 1  # exponential says 1, bucket 0
    assert limiter.when("a") == 2  # exponential 2, bucket 1
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_default_limiter_matches_client_go(clock):
    limiter = default_controller_rate_limiter(clock)
    assert limiter.when("a") == 0.005
    assert limiter.when("a") == 0.01
    for i in range(200):
        limiter.when(("burst", i))
    assert limiter.when("fresh") > 0.005, "past the burst of 100 the 10 qps bucket dominates"


def test_rate_limited_adds_back_off_per_item_and_forget_resets(clock):
    q = RateLimitingQueue(name="r", rate_limiter=ItemExponential(1, 60), clock=clock)
    try:
        q.add_rate_limited("a")
        q.add_rate_limited("a")
        assert q.num_requeues("a") == 2
        clock.wait_for_waiters(1)
        clock.step(1)
        assert q.get(timeout=5) == "a"
        q.done("a")
        q.forget("a")
        assert q.num_requeues("a") == 0
        q.add_rate_limited("a")
        clock.wait_for_waiters(1)
        clock.step(0.5)
        assert q.get(timeout=0.05) is None
        clock.step(0.5)
        assert q.get(timeout=5) == "a"
    finally:
        q.shut_down()


def test_rate_limited_adds_count_as_retries_in_the_queue_metrics(clock):
    from prometheus_client import CollectorRegistry

    from eni.runtime.metrics import RuntimeMetrics

    registry = CollectorRegistry()
    q = RateLimitingQueue(name="m", rate_limiter=ItemExponential(1, 60), clock=clock,
                          metrics=RuntimeMetrics(registry).queue("m"))
    try:
        assert registry.get_sample_value("eni_workqueue_retries_total", {"name": "m"}) == 0
        q.add("c")
        assert registry.get_sample_value("eni_workqueue_retries_total", {"name": "m"}) == 0, "a plain add is no retry"
        assert q.get(timeout=5) == "c"
        q.done("c")
        q.add_rate_limited("a")
        q.add_rate_limited("b")
        assert registry.get_sample_value("eni_workqueue_retries_total", {"name": "m"}) == 2
        assert registry.get_sample_value("eni_workqueue_adds_total", {"name": "m"}) == 1, "retries wait their delay"
        clock.wait_for_waiters(1)
        clock.step(1)
        assert sorted([q.get(timeout=5), q.get(timeout=5)]) == ["a", "b"]
        assert registry.get_sample_value("eni_workqueue_adds_total", {"name": "m"}) == 3
    finally:
        q.shut_down()
