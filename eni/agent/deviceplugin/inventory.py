"""The counts a plugin currently advertises, shared between the updater and every ListAndWatch stream.

One writer (whoever watches the node's pool calls ``update``) and many readers (one stream per kubelet
connection). A generation number increases on every real change, so a stream sends a new list exactly when
there is something new and never misses a change that happened between two waits. Waits are bounded and can
be cut short with ``wake_all`` (plugin stopping, stream cancelled). This class never blocks without a timeout.
"""

from __future__ import annotations

import threading
from typing import Protocol

from .devices import DeviceCounts


class DeviceAdvertiser(Protocol):
    """Whatever tells the kubelet how many devices of a resource exist and how many are usable.

    ``update`` is thread-safe, cheap when nothing changed, and raises InvalidDeviceCountsError (changing
    nothing) for impossible counts; use ``DeviceCounts.clamped`` first when the inputs may disagree.
    """

    def update(self, *, capacity: int, healthy: int) -> bool: ...


class DeviceInventory:
    """Thread-safe current ``DeviceCounts`` with a change generation."""

    def __init__(self, counts: DeviceCounts) -> None:
        self._cond = threading.Condition()
        self._counts = counts  # guarded by _cond
        self._generation = 0  # guarded by _cond; bumped on every change of _counts

    def update(self, *, capacity: int, healthy: int) -> bool:
        """Advertise new counts; return whether they differ from the current ones.

        Raises InvalidDeviceCountsError, leaving the current counts in place, when the counts are impossible.
        """
        counts = DeviceCounts(capacity=capacity, healthy=healthy)
        with self._cond:
            if counts == self._counts:
                return False
            self._counts = counts
            self._generation += 1
            self._cond.notify_all()
            return True

    def snapshot(self) -> tuple[int, DeviceCounts]:
        """The current generation and counts."""
        with self._cond:
            return self._generation, self._counts

    def wait_for_change(self, generation: int, *, timeout: float) -> tuple[int, DeviceCounts]:
        """Block until the generation differs from ``generation``, ``wake_all`` or ``timeout``; return the state.

        The caller compares the returned generation with its own to tell a change from a wake-up or timeout.
        """
        with self._cond:
            if self._generation == generation:
                self._cond.wait(max(timeout, 0.0))
            return self._generation, self._counts

    def wake_all(self) -> None:
        """Wake every waiter so that it re-checks its own stop conditions."""
        with self._cond:
            self._cond.notify_all()
