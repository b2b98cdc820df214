"""A Controller: informer events → Requests in a rate-limited queue → N worker threads calling a Reconciler.

The queue guarantees one worker per Request at a time; the worker handler below decides what happens after
each reconcile (see its NB). An exception raised by a reconciler is counted, logged once here ("Reconciler
error") and retried with backoff; it never kills a worker. Watches are registered when the controller starts
(a late handler first gets every cached object), and workers only start once those handlers have synced.
The controller never reads or writes the API server itself.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eni.runtime import log as kvlog
from eni.runtime.cache.informer import DeletedFinalStateUnknown, HandlerRegistration, SharedInformer
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.handler import EventHandler
from eni.runtime.meta import Obj
from eni.runtime.metrics import ReconcileMetrics, RuntimeMetrics
from eni.runtime.predicate import Predicate
from eni.runtime.reconcile import Reconciler, Request, Result, TerminalError
from eni.runtime.workqueue.ratelimiter import RateLimiter
from eni.runtime.workqueue.ratelimiting import RateLimitingQueue

log = kvlog.get_logger(__name__)

# A worker re-checks for shutdown at least this often, even if a wake-up were ever lost.
_WORKER_POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Watch:
    informer: SharedInformer
    handler: EventHandler
    predicates: tuple[Predicate, ...]


class _Enqueuer:
    """Adapts an EventHandler plus predicates to an informer's ResourceEventHandler."""

    def __init__(self, watch: _Watch, queue: RateLimitingQueue[Request]) -> None:
        self._watch = watch
        self._queue = queue

    def _add_all(self, requests: Iterable[Request]) -> None:
        for request in requests:
            self._queue.add(request)

    def on_add(self, obj: Obj, is_in_initial_list: bool) -> None:
        if all(p.create(obj) for p in self._watch.predicates):
            self._add_all(self._watch.handler.requests_for_add(obj))

    def on_update(self, old: Obj, new: Obj) -> None:
        if all(p.update(old, new) for p in self._watch.predicates):
            self._add_all(self._watch.handler.requests_for_update(old, new))

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        final = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if all(p.delete(final) for p in self._watch.predicates):
            self._add_all(self._watch.handler.requests_for_delete(final))


class Controller:
    """Runs a Reconciler over a rate-limited work queue with ``workers`` threads; a manager Runnable."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        workers: int = 1,
        queue: RateLimitingQueue[Request] | None = None,
        rate_limiter: RateLimiter | None = None,
        clock: Clock = REAL_CLOCK,
        metrics: RuntimeMetrics | None = None,
        cache_sync_timeout: float = 120.0,
    ) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.reconciler = reconciler
        self.workers = workers
        self._clock = clock
        runtime_metrics = metrics if metrics is not None else RuntimeMetrics()
        self.queue: RateLimitingQueue[Request] = queue if queue is not None else RateLimitingQueue(
            name=name, rate_limiter=rate_limiter, clock=clock, metrics=runtime_metrics.queue(name)
        )
        self._metrics: ReconcileMetrics = runtime_metrics.reconcile(name)
        self._cache_sync_timeout = cache_sync_timeout
        self._watches: list[_Watch] = []
        self._started = False

    def need_leader_election(self) -> bool:
        return True

    def watch(self, informer: SharedInformer, handler: EventHandler, predicates: Sequence[Predicate] = ()) -> None:
        """Enqueue what ``handler`` maps ``informer``'s events to, for events every predicate lets through."""
        if self._started:
            raise RuntimeError(f"controller {self.name}: watches must be added before start")
        self._watches.append(_Watch(informer, handler, tuple(predicates)))

    def start(self, stop: threading.Event) -> None:
        """Register the watches, wait for their initial events, run the workers until ``stop``; then drain."""
        if self._started:
            raise RuntimeError(f"controller {self.name} already started")
        self._started = True
        registrations = [w.informer.add_event_handler(_Enqueuer(w, self.queue)) for w in self._watches]
        if not self._wait_for_sync(registrations, stop):
            self.queue.shut_down()
            if stop.is_set():
                return
            raise TimeoutError(f"controller {self.name}: caches did not sync in {self._cache_sync_timeout}s")
        log.info("Starting workers", controller=self.name, workers=self.workers)
        threads = [
            threading.Thread(target=self._worker, name=f"{self.name}-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        while not stop.wait(1.0):
            pass
        log.info("Stopping workers", controller=self.name)
        self.queue.shut_down()
        for thread in threads:
            thread.join(timeout=30.0)

    def _wait_for_sync(self, registrations: list[HandlerRegistration], stop: threading.Event) -> bool:
        deadline = time.monotonic() + self._cache_sync_timeout
        for registration in registrations:
            while not registration.wait_for_sync(0.1):
                if stop.is_set() or time.monotonic() > deadline:
                    return False
        return True

    def _worker(self) -> None:
        while self.process_next_work_item(timeout=_WORKER_POLL_SECONDS):
            pass

    def process_next_work_item(self, timeout: float | None = None) -> bool:
        """Take one Request from the queue (waiting up to ``timeout`` real seconds) and handle it.

        Returns False only once the queue is shut down and empty, so a worker loops on it.
        """
        request = self.queue.get(timeout)
        if request is None:
            return not self.queue.shutting_down()
        self.reconcile_handler(request)
        return True

    def reconcile_handler(self, request: Request) -> None:
        """Reconcile one Request and decide its future."""
        started = self._clock.monotonic()
        fields = {"controller": self.name, "namespace": request.namespace, "name": request.name,
                  "reconcile_id": uuid.uuid4().hex[:12]}
        # NB: the order matters and follows controller-runtime. (1) TerminalError: log and count, never requeue.
        # (2) any other Exception: log, count, add_rate_limited (BaseException, e.g. KeyboardInterrupt or
        # SystemExit, is never caught). A raised error means there is no Result, so nothing of a Result is
        # honoured. (3) requeue_after > 0: forget (reset backoff) THEN add_after, so the delay is exactly the one
        # asked. (4) otherwise forget. done() always runs last, in finally, so a dirty re-add is requeued.
        try:
            with kvlog.bound(**fields):
                try:
                    result = self.reconciler.reconcile(request)
                    if not isinstance(result, Result):
                        raise TypeError(f"reconcile returned {type(result).__name__}, not a Result")
                except TerminalError:
                    self._metrics.errors.inc()
                    self._metrics.error.inc()
                    log.error("Reconciler error", exc_info=True, terminal=True)
                    return
                except Exception:
                    self._metrics.errors.inc()
                    self._metrics.error.inc()
                    log.error("Reconciler error", exc_info=True)
                    self.queue.add_rate_limited(request)
                    return
            if result.requeue_after > 0:
                self.queue.forget(request)
                self.queue.add_after(request, result.requeue_after)
                self._metrics.requeue_after.inc()
            else:
                self.queue.forget(request)
                self._metrics.success.inc()
        finally:
            self._metrics.duration.observe(self._clock.monotonic() - started)
            self.queue.done(request)
