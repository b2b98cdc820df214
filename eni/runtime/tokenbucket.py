"""A token bucket on an injectable clock, shared by the work queue's bucket limiter and the client's QPS limit.

Nothing here blocks. ``reserve()`` takes a token (possibly going into debt) and says how long the caller must
wait for it, like Go's ``rate.Limiter.Reserve().Delay()``; ``try_take()`` takes one only if it is there now
(for callers that drop instead of waiting). Waiting is the caller's business, so the bucket can sit under any
lock. It must never sleep.
"""

from __future__ import annotations

import threading

from eni.runtime.clock import REAL_CLOCK, Clock


class TokenBucket:
    """``burst`` tokens, refilled at ``qps`` per second of ``clock``."""

    def __init__(self, *, qps: float, burst: int, clock: Clock = REAL_CLOCK) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs qps > 0 and burst >= 1, got qps={qps} burst={burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def try_take(self) -> bool:
        """Take one token if one is available now; never goes into debt."""
        with self._lock:
            self._refill_locked()
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def _refill_locked(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now

    def reserve(self) -> float:
        """Take one token; return the seconds to wait before using it (0.0 when one was available)."""
        with self._lock:
            self._refill_locked()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps
