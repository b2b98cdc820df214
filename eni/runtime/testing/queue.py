"""RecordingQueue: a real RateLimitingQueue that also records what was added and how.

Controller tests assert outcomes through it (controller-runtime's ``controllertest.Queue``): after a
TerminalError ``added_rate_limited`` stays empty; after ``Result(requeue_after=5)`` ``added_after`` holds
``(request, 5.0)``. The queue still behaves exactly like the production one.
"""

from __future__ import annotations

import threading
from typing import TypeVar

from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.workqueue.ratelimiter import RateLimiter
from eni.runtime.workqueue.ratelimiting import RateLimitingQueue

T = TypeVar("T")


class RecordingQueue(RateLimitingQueue[T]):
    """Records ``add``, ``add_rate_limited``, ``add_after`` and ``forget`` calls, in order, per kind."""

    def __init__(self, *, name: str = "recording", rate_limiter: RateLimiter | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self._record_lock = threading.Lock()
        self.added: list[T] = []
        self.added_rate_limited: list[T] = []
        self.added_after: list[tuple[T, float]] = []
        self.forgotten: list[T] = []
        super().__init__(name=name, rate_limiter=rate_limiter, clock=clock)

    def add(self, item: T) -> None:
        with self._record_lock:
            self.added.append(item)
        super().add(item)

    def add_rate_limited(self, item: T) -> None:
        with self._record_lock:
            self.added_rate_limited.append(item)
        super().add_rate_limited(item)

    def add_after(self, item: T, delay: float) -> None:
        with self._record_lock:
            self.added_after.append((item, delay))
        super().add_after(item, delay)

    def forget(self, item: T) -> None:
        with self._record_lock:
            self.forgotten.append(item)
        super().forget(item)
