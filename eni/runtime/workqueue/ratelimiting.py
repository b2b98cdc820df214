"""A delaying queue whose retries are paced by a RateLimiter (client-go's ``RateLimitingInterface``).

``add_rate_limited`` asks the limiter for a delay and adds the item after it; ``forget`` clears the item's
history once it succeeds; ``num_requeues`` reports it. Remember to call ``forget``! If you don't, you may end
up tracking failures forever.
"""

from __future__ import annotations

from typing import TypeVar

from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.metrics import QueueMetrics
from eni.runtime.workqueue.delaying import DelayingQueue
from eni.runtime.workqueue.ratelimiter import RateLimiter, default_controller_rate_limiter

T = TypeVar("T")


class RateLimitingQueue(DelayingQueue[T]):
    """The queue every controller uses."""

    def __init__(
        self,
        *,
        name: str = "",
        rate_limiter: RateLimiter | None = None,
        clock: Clock = REAL_CLOCK,
        metrics: QueueMetrics | None = None,
    ) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self.rate_limiter = rate_limiter if rate_limiter is not None else default_controller_rate_limiter(clock)

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the delay its rate limiter decides."""
        if self._metrics is not None:
            self._metrics.retries.inc()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Stop tracking ``item``'s failures; it does not remove the item from the queue."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
