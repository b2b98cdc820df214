"""FakeClock: time that only moves when a test calls ``step()``.

Waiters registered through ``wait``/``wait_condition`` are woken when a step reaches their deadline, as
client-go's ``clocktesting.FakeClock`` does, so queue, limiter and elector tests never sleep. A test that
must step only after a thread has started waiting uses ``wait_for_waiters(n)``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# How often a thread blocked in FakeClock.wait re-checks its Event (an Event cannot notify us).
_EVENT_POLL_SECONDS = 0.005


@dataclass(order=True)
class _Waiter:
    deadline: float
    seq: int
    wake: Callable[[], None] = field(compare=False)


class FakeClock:
    """A manually stepped clock implementing ``eni.runtime.clock.Clock``."""

    def __init__(self, *, start: datetime | None = None, monotonic_start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic_start
        self._wall = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._waiters: dict[int, _Waiter] = {}
        self._seq = itertools.count()

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def now(self) -> datetime:
        with self._lock:
            return self._wall

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` and wake every waiter whose deadline has been reached."""
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        with self._lock:
            self._monotonic += seconds
            self._wall += timedelta(seconds=seconds)
            due = [w for w in self._waiters.values() if w.deadline <= self._monotonic]
        # NB: wake outside our lock: a waker takes the waiter's Condition, whose holder may be registering with us.
        for waiter in sorted(due):
            waiter.wake()

    def waiter_count(self) -> int:
        with self._lock:
            return len(self._waiters)

    def wait_for_waiters(self, count: int, *, timeout: float = 5.0) -> None:
        """Block (real time) until at least ``count`` threads wait on this clock; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while self.waiter_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} waiters on the FakeClock, have {self.waiter_count()}")
            time.sleep(0.001)

    def wait(self, event: threading.Event, timeout: float) -> bool:
        if event.is_set() or timeout <= 0:
            return event.is_set()
        fired = threading.Event()
        key = self._register(timeout, fired.set)
        try:
            while not event.is_set() and not fired.is_set():
                fired.wait(_EVENT_POLL_SECONDS)
            return event.is_set()
        finally:
            self._unregister(key)

    def wait_condition(self, cond: threading.Condition, timeout: float) -> None:
        if timeout <= 0:
            return

        def wake() -> None:
            with cond:
                cond.notify_all()

        key = self._register(timeout, wake)
        try:
            # The real-time cap only bounds a missed wake-up; callers re-check their predicate anyway.
            cond.wait(1.0)
        finally:
            self._unregister(key)

    def _register(self, timeout: float, wake: Callable[[], None]) -> int:
        with self._lock:
            key = next(self._seq)
            self._waiters[key] = _Waiter(self._monotonic + timeout, key, wake)
            return key

    def _unregister(self, key: int) -> None:
        with self._lock:
            self._waiters.pop(key, None)
