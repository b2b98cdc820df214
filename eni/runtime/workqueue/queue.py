"""The basic work queue: FIFO order, dedup, and never two workers on one item (client-go's ``Type``).

"Stingy": an item added several times before a worker gets it is processed once; an item re-added while a
worker holds it is only marked dirty and goes back into the FIFO when the worker calls ``done``. That is why
the FIFO, the dirty set and the processing set live under one Condition. Items must be hashable and not None
(``get`` returns None once the queue is shut down and empty). This module must never call reconcilers or
sleep: it is pure bookkeeping.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.metrics import QueueMetrics

T = TypeVar("T", bound=Hashable)


class Queue(Generic[T]):
    """A thread-safe deduplicating FIFO of work items."""

    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK, metrics: QueueMetrics | None = None) -> None:
        self.name = name
        self._clock = clock
        self._metrics = metrics
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        # The order in which to work on items. Every element is also in _dirty and not in _processing.
        self._queue: deque[T] = deque()
        # Every item that needs processing: queued, or in flight and re-added meanwhile.
        self._dirty: set[T] = set()
        # Items a worker currently holds. They may be in _dirty too; when the worker calls done() on such an item
        # it goes back into _queue.
        self._processing: set[T] = set()
        # Metrics bookkeeping (only filled when metrics are on): when an item was queued / picked up.
        self._queued_at: dict[T, float] = {}
        self._started_at: dict[T, float] = {}
        self._shutting_down = False
        self._draining = False

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing; a no-op when it is already queued or the queue is shutting down."""
        if item is None:
            raise ValueError("None cannot be queued: get() uses it to signal shutdown")
        with self._lock:
            self._add_locked(item)

    def _add_locked(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if self._metrics is not None:
            self._metrics.adds.inc()
        if item in self._processing:
            return
        self._push_locked(item)

    def _push_locked(self, item: T) -> None:
        self._queue.append(item)
        if self._metrics is not None:
            self._metrics.depth.inc()
            self._queued_at.setdefault(item, self._clock.monotonic())
        self._cond.notify()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def get(self, timeout: float | None = None) -> T | None:
        """Block until an item is available and hand it to the caller, who must call ``done(item)`` afterwards.

        Returns None when the queue is shut down and empty, or when ``timeout`` (real seconds) passes first.
        Items queued before a shutdown are still handed out.
        """
        with self._lock:
            if not self._queue and not self._shutting_down:
                self._cond.wait_for(lambda: self._queue or self._shutting_down, timeout)
            if not self._queue:
                return None
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            if self._metrics is not None:
                now = self._clock.monotonic()
                self._metrics.depth.dec()
                queued_at = self._queued_at.pop(item, None)
                if queued_at is not None:
                    self._metrics.queue_duration.observe(now - queued_at)
                self._started_at[item] = now
            return item

    def done(self, item: T) -> None:
        """Mark ``item`` as finished; if it was re-added while in flight, queue it again."""
        with self._lock:
            self._processing.discard(item)
            if self._metrics is not None:
                started_at = self._started_at.pop(item, None)
                if started_at is not None:
                    self._metrics.work_duration.observe(self._clock.monotonic() - started_at)
            if item in self._dirty:
                self._push_locked(item)
            elif not self._processing:
                self._cond.notify_all()

    def shut_down(self) -> None:
        """Stop accepting items and wake every blocked ``get``; items already queued are still handed out."""
        with self._lock:
            self._shutting_down = True
            self._cond.notify_all()
        self._on_shut_down()

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        """Shut down, then wait until every handed-out item is ``done``; False when ``timeout`` passed first."""
        with self._lock:
            self._draining = True
            self._shutting_down = True
            self._cond.notify_all()
            drained = self._cond.wait_for(lambda: not self._processing, timeout)
        self._on_shut_down()
        return drained

    def shutting_down(self) -> bool:
        with self._lock:
            return self._shutting_down

    def _on_shut_down(self) -> None:
        """Hook for subclasses that own threads."""
