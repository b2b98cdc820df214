"""TTL caches for describe calls, invalidated by the mutations that change what they hold.

Each group (``eni``, ``subnet``, ``instance``, ``eip``, ``limits``) is a ``cachetools.TTLCache`` keyed
by the call's parameters. A mutation invalidates whole groups: finer keys would have to know which
describe queries an ENI appears in, and a miss costs only one call. A generation counter per group
keeps a load that started before an invalidation from storing its (possibly stale) result after it.

Loads run outside the lock, so two threads may load the same key at once; both results are equally
fresh. Values are frozen, so sharing them between callers is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from cachetools import TTLCache

from eni.cloud.tencent.ratelimit import Clock

__all__ = ["DescribeCache"]

T = TypeVar("T")
_MAX_ENTRIES = 1024


class DescribeCache:
    """Per-group TTL caches; a TTL of 0 disables a group."""

    def __init__(self, *, ttls: Mapping[str, float], clock: Clock) -> None:
        self._lock = threading.Lock()
        self._caches: dict[str, TTLCache[Hashable, Any]] = {
            group: TTLCache(maxsize=_MAX_ENTRIES, ttl=ttl, timer=clock.monotonic)
            for group, ttl in ttls.items()
            if ttl > 0
        }
        self._generations = dict.fromkeys(ttls, 0)
        self.hits = 0
        self.misses = 0

    def get_or_load(self, group: str, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value of ``key`` in ``group``, loading and storing it on a miss."""
        cache = self._caches.get(group)
        if cache is None:
            return load()
        with self._lock:
            generation = self._generations[group]
            if key in cache:
                self.hits += 1
                value: T = cache[key]
                return value
            self.misses += 1
        value = load()
        with self._lock:
            if self._generations[group] == generation:
                cache[key] = value
        return value

    def invalidate(self, *groups: str) -> None:
        """Forget everything in ``groups``."""
        with self._lock:
            for group in groups:
                self._generations[group] += 1
                cache = self._caches.get(group)
                if cache is not None:
                    cache.clear()
