"""The controller's worker handler outcomes and worker resilience."""

import threading
import time

import pytest
from prometheus_client import CollectorRegistry

from eni.runtime import log as kvlog
from eni.runtime.cache import SharedInformer
from eni.runtime.controller import Controller
from eni.runtime.handler import enqueue_request_for_object
from eni.runtime.metrics import RuntimeMetrics
from eni.runtime.reconcile import Reconciler, ReconcilerFunc, Request, Result, TerminalError
from eni.runtime.testing import FakeClock, FakeListerWatcher, RecordingQueue
from eni.runtime.workqueue import ItemExponential

REQ = Request("default", "web-0")


class Scripted:
    """Returns or raises the scripted outcomes in order, and remembers the fields bound for logging."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = []
        self.fields = []

    def reconcile(self, request):
        self.calls.append(request)
        self.fields.append(dict(kvlog.current_fields()))
        outcome = self.outcomes.pop(0) if self.outcomes else Result()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


_: Reconciler = Scripted()


@pytest.fixture
def registry():
    return CollectorRegistry()


def make(reconciler, registry, clock=None):
    clock = clock or FakeClock()
    queue = RecordingQueue(rate_limiter=ItemExponential(1, 100), clock=clock)
    controller = Controller("c", reconciler, queue=queue, clock=clock, metrics=RuntimeMetrics(registry))
    return controller, queue


def run_one(controller, queue):
    queue.add(REQ)
    assert controller.process_next_work_item()


def sample(registry, result):
    return registry.get_sample_value("eni_reconcile_total", {"controller": "c", "result": result})


def test_metrics_are_initialised_to_zero(registry):
    make(Scripted(), registry)
    assert [sample(registry, r) for r in ("success", "error", "requeue_after")] == [0, 0, 0]
    assert registry.get_sample_value("eni_reconcile_errors_total", {"controller": "c"}) == 0


def test_success_forgets_and_does_not_requeue(registry):
    controller, queue = make(Scripted(Result()), registry)
    queue.rate_limiter.when(REQ)  # an earlier failure on record
    run_one(controller, queue)
    assert queue.forgotten == [REQ]
    assert queue.num_requeues(REQ) == 0
    assert queue.added_rate_limited == [] and queue.added_after == []
    assert len(queue) == 0
    assert sample(registry, "success") == 1


def test_terminal_error_is_counted_never_requeued(registry):
    controller, queue = make(Scripted(TerminalError(ValueError("bad spec"))), registry)
    run_one(controller, queue)
    assert queue.added_rate_limited == []
    assert queue.added_after == []
    assert queue.forgotten == [], "like upstream, a terminal error neither retries nor resets the backoff"
    assert len(queue) == 0 and queue.waiting_count() == 0
    assert sample(registry, "error") == 1
    assert registry.get_sample_value("eni_reconcile_errors_total", {"controller": "c"}) == 1


def test_exception_is_requeued_rate_limited(registry):
    controller, queue = make(Scripted(RuntimeError("cloud busy")), registry)
    run_one(controller, queue)
    assert queue.added_rate_limited == [REQ]
    assert queue.num_requeues(REQ) == 1
    assert queue.forgotten == []
    assert sample(registry, "error") == 1


def test_requeue_after_forgets_then_adds_after(registry):
    controller, queue = make(Scripted(Result(requeue_after=5)), registry)
    queue.rate_limiter.when(REQ)
    run_one(controller, queue)
    assert queue.forgotten == [REQ]
    assert queue.added_after == [(REQ, 5)]
    assert queue.added_rate_limited == []
    assert sample(registry, "requeue_after") == 1


def test_requeue_after_fires_on_the_clock(registry):
    clock = FakeClock()
    controller, queue = make(Scripted(Result(requeue_after=5), Result()), registry, clock)
    run_one(controller, queue)
    clock.wait_for_waiters(1)
    clock.step(5)
    assert queue.get(timeout=5) == REQ


def test_done_runs_even_when_the_reconciler_raises_so_dirty_items_come_back(registry):
    controller, queue = make(Scripted(RuntimeError("x")), registry)
    queue.add(REQ)
    item = queue.get(0)
    queue.add(REQ)  # an event while in flight
    controller.reconcile_handler(item)
    assert queue.get(timeout=1) == REQ


def test_logging_fields_are_bound_per_reconcile(registry):
    reconciler = Scripted(Result())
    controller, queue = make(reconciler, registry)
    run_one(controller, queue)
    fields = reconciler.fields[0]
    assert (fields["controller"], fields["namespace"], fields["name"]) == ("c", "default", "web-0")
    assert fields["reconcile_id"]
    assert kvlog.current_fields() == {}


def test_base_exceptions_are_not_swallowed(registry):
    controller, queue = make(Scripted(KeyboardInterrupt()), registry)
    queue.add(REQ)
    with pytest.raises(KeyboardInterrupt):
        controller.process_next_work_item()
    assert len(queue) == 0
    queue.add(REQ)
    assert len(queue) == 1, "done() ran in finally, so the item is accepted again"


def test_workers_survive_exceptions_and_stop_on_the_stop_event(registry):
    seen = []
    done = threading.Event()

    def reconcile(request):
        seen.append(request.name)
        if len(seen) >= 3:
            done.set()
        if request.name == "bad":
            raise RuntimeError("boom")
        return Result()

    lw = FakeListerWatcher()
    informer = SharedInformer(lw, name="pods")
    controller = Controller("c", ReconcilerFunc(reconcile), workers=2, metrics=RuntimeMetrics(registry),
                            rate_limiter=ItemExponential(0.001, 0.002))
    controller.watch(informer, enqueue_request_for_object())
    stop = threading.Event()
    threads = [threading.Thread(target=informer.start, args=(stop,)), threading.Thread(target=controller.start,
                                                                                          args=(stop,))]
    for t in threads:
        t.start()
    try:
        lw.create({"metadata": {"name": "bad", "namespace": "d"}})
        lw.create({"metadata": {"name": "good", "namespace": "d"}})
        assert done.wait(10)
        deadline = time.monotonic() + 10
        while "good" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "good" in seen, "a failing item must not block the others"
        assert seen.count("bad") >= 2, "the failing item is retried by a surviving worker"
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert controller.queue.shutting_down()


def test_process_next_work_item_keeps_a_worker_alive_on_timeout_and_ends_on_shutdown(registry):
    controller, queue = make(Scripted(), registry)
    assert controller.process_next_work_item(timeout=0.01) is True
    queue.shut_down()
    assert controller.process_next_work_item(timeout=0.01) is False


def test_a_reconciler_returning_no_result_is_treated_as_an_error(registry):
    class ReturnsNone:
        def reconcile(self, request):
            return None

    controller, queue = make(ReturnsNone(), registry)
    run_one(controller, queue)
    assert queue.added_rate_limited == [REQ]
    assert sample(registry, "error") == 1
