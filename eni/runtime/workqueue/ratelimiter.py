"""Rate limiters that decide how long a failed item waits before its retry (client-go's default_rate_limiters).

``ItemExponential`` backs off per item (base * 2^failures, capped); ``Bucket`` limits the overall retry rate
with a token bucket; ``MaxOf`` takes the longest delay of several. Limiters only compute delays: they never
sleep and never touch a queue. Remember to ``forget`` an item once it succeeds, or its failures count forever.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Protocol

from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.tokenbucket import TokenBucket


class RateLimiter(Protocol):
    """Decides retry delays. Implementations are thread-safe."""

    def when(self, item: Hashable) -> float:
        """Record one more failure of ``item`` and return the seconds to wait before retrying it."""
        ...

    def forget(self, item: Hashable) -> None:
        """Clear ``item``'s failure history (it succeeded or was given up)."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many failures of ``item`` are on record."""
        ...


class ItemExponential:
    """Per-item exponential backoff: ``base_delay * 2**failures``, at most ``max_delay`` seconds."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError(f"need 0 < base_delay <= max_delay, got {base_delay}, {max_delay}")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        with self._lock:
            exp = self._failures.get(item, 0)
            self._failures[item] = exp + 1
        if exp >= 64:  # 2**64 * base overflows any sane cap; avoid the float blow-up
            return self.max_delay
        return min(self.base_delay * float(2**exp), self.max_delay)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class Bucket:
    """An overall limit on retries: a token bucket of ``burst`` refilled at ``qps``; items are not tracked."""

    def __init__(self, *, qps: float, burst: int, clock: Clock = REAL_CLOCK) -> None:
        self._bucket = TokenBucket(qps=qps, burst=burst, clock=clock)

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        return None

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOf:
    """The longest delay of its limiters; ``num_requeues`` is the largest of theirs."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_rate_limiter(clock: Clock = REAL_CLOCK) -> RateLimiter:
    """client-go's default: per-item 5 ms doubling to 1000 s, and 10 qps / burst 100 overall."""
    return MaxOf(ItemExponential(0.005, 1000.0), Bucket(qps=10.0, burst=100, clock=clock))
