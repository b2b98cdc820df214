"""Client-side pacing of cloud calls: token buckets per action and one for the whole cluster.

The cloud throttles an account per action (100/s for ENI/IP actions, 10/s for ReleaseAddresses) and
ipamd must share one budget per cluster, so every call takes a token from its action's bucket and
from the cluster bucket before it is sent. A bucket that has no token *reserves* the next one and
the caller sleeps until it is due, so waiting callers are served in arrival order and the long-run
rate never exceeds ``rate`` (plus ``burst`` at the start).

Acquisition blocks for at most ``timeout`` seconds; a wait that would be longer fails at once with
``Throttled`` without consuming a token. Time comes from an injected ``Clock`` so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Protocol

from eni.cloud.errors import Throttled

__all__ = ["CLIENT_THROTTLE_CODE", "Clock", "RateLimiter", "SystemClock", "TokenBucket"]

CLIENT_THROTTLE_CODE = "ClientSideRateLimit"
"""``Throttled.code`` when the client-side bucket, not the cloud, refused the call."""


class Clock(Protocol):
    """Monotonic time and sleeping; injected so that tests control time."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; thread-safe."""

    def __init__(self, *, rate: float, burst: int, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        # Invariant: _tokens <= burst; negative when callers hold reservations not yet due.
        self._tokens = float(burst)
        self._updated = clock.monotonic()

    def reserve(self, *, max_wait: float) -> float | None:
        """Take a token now and return how long to wait before using it, or ``None`` if over ``max_wait``."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if wait > max_wait:
                return None
            self._tokens -= 1
            return wait

    def cancel(self) -> None:
        """Give back a token taken by ``reserve`` that will not be used."""
        with self._lock:
            self._tokens = min(float(self.burst), self._tokens + 1)


class RateLimiter:
    """Per-action buckets plus one cluster bucket; ``acquire`` blocks until both allow the call."""

    def __init__(
        self,
        *,
        cluster_qps: float,
        cluster_burst: int,
        action_qps: Mapping[str, float],
        default_action_qps: float,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._cluster = TokenBucket(rate=cluster_qps, burst=cluster_burst, clock=clock)
        self._action_qps = dict(action_qps)
        self._default_action_qps = default_action_qps
        self._actions: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, action: str) -> TokenBucket:
        with self._lock:
            bucket = self._actions.get(action)
            if bucket is None:
                rate = self._action_qps.get(action, self._default_action_qps)
                # A burst of one second's worth, at least one call.
                bucket = TokenBucket(rate=rate, burst=max(1, int(rate)), clock=self._clock)
                self._actions[action] = bucket
            return bucket

    def acquire(self, action: str, *, timeout: float) -> float:
        """Block until ``action`` may be called; return the seconds waited. Raises ``Throttled``."""
        action_bucket = self._bucket(action)
        action_wait = action_bucket.reserve(max_wait=timeout)
        if action_wait is None:
            raise Throttled(CLIENT_THROTTLE_CODE, f"{action}: client-side action rate limit, waited {timeout}s")
        cluster_wait = self._cluster.reserve(max_wait=timeout)
        if cluster_wait is None:
            action_bucket.cancel()
            raise Throttled(CLIENT_THROTTLE_CODE, f"{action}: client-side cluster rate limit, waited {timeout}s")
        # Both reservations are due after the longer of the two waits.
        wait = max(action_wait, cluster_wait)
        if wait > 0:
            self._clock.sleep(wait)
        return wait
