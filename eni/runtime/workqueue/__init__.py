"""Work queues with client-go semantics: dedup, in-flight tracking, delays, rate limits."""

from eni.runtime.workqueue.delaying import DelayingQueue
from eni.runtime.workqueue.queue import Queue
from eni.runtime.workqueue.ratelimiter import (
    Bucket,
    ItemExponential,
    MaxOf,
    RateLimiter,
    default_controller_rate_limiter,
)
from eni.runtime.workqueue.ratelimiting import RateLimitingQueue

__all__ = [
    "Bucket",
    "DelayingQueue",
    "ItemExponential",
    "MaxOf",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "default_controller_rate_limiter",
]
