"""A work queue that can also add an item after a delay (client-go's ``DelayingInterface``).

Delayed items wait in a heap ordered by ready time; one waiter thread per queue moves them into the FIFO when
the queue's clock reaches their time, waking at least every ``MAX_WAIT`` seconds as a heartbeat. An item
waiting twice keeps the earlier ready time. The heap shares the queue's lock (through a second Condition on the
same lock) so that moving an item is atomic with the FIFO bookkeeping. The waiter thread must never block on
anything but that Condition.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from typing import TypeVar

from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.metrics import QueueMetrics
from eni.runtime.workqueue.queue import Queue

T = TypeVar("T")

MAX_WAIT = 10.0
"""Longest the waiter sleeps without re-checking the heap (client-go's maxWait)."""


class DelayingQueue(Queue[T]):
    """A ``Queue`` with ``add_after``; its waiter thread starts in the constructor and ends on shutdown."""

    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK, metrics: QueueMetrics | None = None) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self._delay_cond = threading.Condition(self._lock)
        # Heap of (ready_at, seq, item). Entries whose ready_at differs from _ready_at[item] are stale.
        self._heap: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._seq = itertools.count()
        self._waiter = threading.Thread(target=self._wait_loop, name=f"delaying-queue-{name}", daemon=True)
        self._waiter.start()

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds of the queue's clock have passed (at once when ``delay <= 0``)."""
        if item is None:
            raise ValueError("None cannot be queued: get() uses it to signal shutdown")
        with self._lock:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add_locked(item)
                return
            ready_at = self._clock.monotonic() + delay
            current = self._ready_at.get(item)
            if current is not None and current <= ready_at:
                return
            self._ready_at[item] = ready_at
            heapq.heappush(self._heap, (ready_at, next(self._seq), item))
            self._delay_cond.notify()

    def waiting_count(self) -> int:
        """How many items wait for their delay to pass."""
        with self._lock:
            return len(self._ready_at)

    def _wait_loop(self) -> None:
        with self._lock:
            while not self._shutting_down:
                now = self._clock.monotonic()
                self._release_ready_locked(now)
                wait = min(self._heap[0][0] - now, MAX_WAIT) if self._heap else MAX_WAIT
                self._clock.wait_condition(self._delay_cond, wait)

    def _release_ready_locked(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            ready_at, _, item = heapq.heappop(self._heap)
            if self._ready_at.get(item) != ready_at:
                continue
            del self._ready_at[item]
            self._add_locked(item)

    def _on_shut_down(self) -> None:
        with self._lock:
            self._delay_cond.notify_all()
        if threading.current_thread() is not self._waiter:
            self._waiter.join(timeout=5.0)
