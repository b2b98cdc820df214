"""Injectable time: the only way runtime code reads the time or waits for it to pass.

Queues, rate limiters, reflectors and the elector take a ``Clock`` so that unit tests drive them with
``eni.runtime.testing.clock.FakeClock`` instead of sleeping. Two notions of time are exposed:
``monotonic()`` for durations and deadlines, ``now()`` for wall-clock timestamps written to the API
(Lease renewTime, Event lastTimestamp). Code here must never call ``time.sleep`` or ``time.monotonic``
directly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of time and of timed waits. Implementations are thread-safe."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; only differences are meaningful."""
        ...

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Block until ``event`` is set or ``timeout`` seconds of this clock pass; return ``event.is_set()``."""
        ...

    def wait_condition(self, cond: threading.Condition, timeout: float) -> None:
        """Like ``cond.wait(timeout)`` with this clock's seconds; the caller holds ``cond`` and must re-check its
        predicate afterwards (spurious wake-ups are allowed)."""
        ...


class RealClock:
    """The system clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(max(timeout, 0.0))

    def wait_condition(self, cond: threading.Condition, timeout: float) -> None:
        cond.wait(max(timeout, 0.0))


REAL_CLOCK: Clock = RealClock()
"""The shared system clock; the default wherever a clock is optional."""
