"""The basic work queue: dedup, in-flight tracking, dirty re-queue, shutdown and drain."""

import threading

from prometheus_client import CollectorRegistry

from eni.runtime.metrics import RuntimeMetrics
from eni.runtime.testing import FakeClock
from eni.runtime.workqueue import Queue


def test_fifo_order_and_dedup_of_waiting_items():
    q: Queue[str] = Queue()
    for item in ["a", "b", "a", "c", "b"]:
        q.add(item)
    assert len(q) == 3
    assert [q.get(0), q.get(0), q.get(0)] == ["a", "b", "c"]
    assert q.get(timeout=0.01) is None


def test_readding_in_flight_item_marks_it_dirty_and_requeues_after_done():
    q: Queue[str] = Queue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0, "an in-flight item must not be handed to a second worker"
    q.done("a")
    assert len(q) == 1
    assert q.get(0) == "a"
    q.done("a")
    assert len(q) == 0


def test_done_without_readd_does_not_requeue():
    q: Queue[str] = Queue()
    q.add("a")
    q.done(q.get(0))
    assert q.get(timeout=0.01) is None


def test_one_item_is_never_processed_by_two_workers_at_once():
    q: Queue[int] = Queue()
    active: set[int] = set()
    overlap = []
    lock = threading.Lock()
    processed = []

    def worker():
        while (item := q.get(timeout=1.0)) is not None:
            with lock:
                if item in active:
                    overlap.append(item)
                active.add(item)
            with lock:
                active.discard(item)
                processed.append(item)
            q.done(item)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2000):
        q.add(i % 7)
    q.shut_down_with_drain(timeout=10)
    for t in threads:
        t.join(5)
    assert overlap == []
    assert set(processed) == set(range(7))


def test_shutdown_wakes_blocked_getters_and_ignores_new_adds():
    q: Queue[str] = Queue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    q.shut_down()
    t.join(5)
    assert got == [None]
    q.add("late")
    assert len(q) == 0
    assert q.shutting_down()


def test_items_queued_before_shutdown_are_still_handed_out():
    q: Queue[str] = Queue()
    q.add("a")
    q.shut_down()
    assert q.get(0) == "a"
    assert q.get(0) is None


def test_shutdown_with_drain_waits_for_in_flight_items():
    q: Queue[str] = Queue()
    q.add("a")
    item = q.get(0)
    result = []
    drainer = threading.Thread(target=lambda: result.append(q.shut_down_with_drain(timeout=10)))
    drainer.start()
    drainer.join(0.05)
    assert drainer.is_alive(), "drain must wait for the in-flight item"
    q.done(item)
    drainer.join(5)
    assert result == [True]


def test_shutdown_with_drain_times_out_when_an_item_is_never_done():
    q: Queue[str] = Queue()
    q.add("a")
    q.get(0)
    assert q.shut_down_with_drain(timeout=0.05) is False


def test_none_is_rejected():
    q: Queue[object] = Queue()
    try:
        q.add(None)
    except ValueError:
        pass
    else:
        raise AssertionError("None must be rejected")


def test_metrics_track_depth_adds_and_durations_on_the_queue_clock():
    registry = CollectorRegistry()
    clock = FakeClock()
    q: Queue[str] = Queue(name="m", clock=clock, metrics=RuntimeMetrics(registry).queue("m"))
    q.add("a")
    q.add("b")
    q.add("a")
    assert registry.get_sample_value("eni_workqueue_depth", {"name": "m"}) == 2
    assert registry.get_sample_value("eni_workqueue_adds_total", {"name": "m"}) == 2
    clock.step(3)
    item = q.get(0)
    clock.step(2)
    q.done(item)
    assert registry.get_sample_value("eni_workqueue_depth", {"name": "m"}) == 1
    assert registry.get_sample_value("eni_workqueue_queue_duration_seconds_sum", {"name": "m"}) == 3
    assert registry.get_sample_value("eni_workqueue_work_duration_seconds_sum", {"name": "m"}) == 2
