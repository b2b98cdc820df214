"""Watch streams: the bounded event history and the per-stream queues fed from it.

Every committed change becomes one :class:`Event` that the store publishes while it still holds
its lock, so events reach every stream in resourceVersion order and a stream registered under the
same lock never misses or duplicates one. The history keeps the last ``size`` events; a watch
that starts from a version older than the history gets 410 Expired. A stream with a label or
field selector sees objects moving into/out of its selection as ADDED/DELETED, like the real
server's watch cache. Nothing here blocks while holding the store lock.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from .errors import expired
from .selectors import FieldSelector, LabelSelector

MAX_PENDING = 200_000  # a stream this far behind is closed, as the real server drops slow watchers


@dataclass(frozen=True, slots=True)
class Event:
    """A committed change of one object."""

    type: str  # ADDED, MODIFIED, DELETED
    rv: int
    storage_key: str
    namespace: str
    obj: dict[str, Any]
    raw: bytes
    old: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one stream sends for one event."""

    type: str
    obj: dict[str, Any]
    raw: bytes


def _with_rv(obj: dict[str, Any], rv: int) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(rv)
    return dict(obj, metadata=meta)


class Watcher:
    """One open watch stream: a filter and a queue of deliveries."""

    def __init__(self, *, storage_key: str, namespace: str, labels: LabelSelector, fields: FieldSelector) -> None:
        self.storage_key = storage_key
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self._cond = threading.Condition()
        self._pending: deque[Delivery] = deque()  # guarded by _cond
        self._closed = False  # guarded by _cond

    def matches(self, namespace: str, obj: dict[str, Any]) -> bool:
        if self.namespace and namespace != self.namespace:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    def translate(self, event: Event) -> Delivery | None:
        """The delivery this stream owes for ``event`` (None when the event is outside its selection)."""
        now = self.matches(event.namespace, event.obj)
        if event.type != "MODIFIED" or event.old is None:
            return Delivery(event.type, event.obj, event.raw) if now else None
        before = self.matches(event.namespace, event.old)
        if now and before:
            return Delivery("MODIFIED", event.obj, event.raw)
        if now:
            return Delivery("ADDED", event.obj, event.raw)
        if before:
            old = _with_rv(event.old, event.rv)
            return Delivery("DELETED", old, json.dumps(old, separators=(",", ":")).encode())
        return None

    def offer(self, delivery: Delivery) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._pending) >= MAX_PENDING:
                self._closed = True
            else:
                self._pending.append(delivery)
            self._cond.notify()

    def next(self, timeout: float) -> Delivery | None:
        """The next delivery, or None after ``timeout`` or once closed and drained."""
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            return self._pending.popleft() if self._pending else None

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed and not self._pending

    @property
    def idle(self) -> bool:
        with self._cond:
            return not self._pending

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()


class WatchHub:
    """History of recent events and the set of open streams.

    ``publish``, ``register`` and ``compact`` must be called with the store's lock held.
    """

    def __init__(self, *, history_size: int) -> None:
        self._history: deque[Event] = deque(maxlen=max(1, history_size))
        self.compacted_rv = 0  # events with rv <= compacted_rv may have been forgotten
        self.current_rv = 0
        self._watchers: dict[str, set[Watcher]] = {}
        self._watchers_lock = threading.Lock()

    def publish(self, event: Event) -> None:
        if self._history.maxlen is not None and len(self._history) == self._history.maxlen:
            self.compacted_rv = self._history[0].rv
        self._history.append(event)
        self.current_rv = event.rv
        with self._watchers_lock:
            watchers = list(self._watchers.get(event.storage_key, ()))
        for watcher in watchers:
            delivery = watcher.translate(event)
            if delivery is not None:
                watcher.offer(delivery)

    def register(self, watcher: Watcher, *, since: int | None) -> None:
        """Open a stream; replay history after ``since`` (None: the caller sends the initial state)."""
        if since is not None:
            if since < self.compacted_rv:
                raise expired(since, self.compacted_rv + 1)
            replay = []
            for event in reversed(self._history):
                if event.rv <= since:
                    break
                if event.storage_key == watcher.storage_key:
                    replay.append(event)
            for event in reversed(replay):
                delivery = watcher.translate(event)
                if delivery is not None:
                    watcher.offer(delivery)
        with self._watchers_lock:
            self._watchers.setdefault(watcher.storage_key, set()).add(watcher)

    def unregister(self, watcher: Watcher) -> None:
        with self._watchers_lock:
            self._watchers.get(watcher.storage_key, set()).discard(watcher)
        watcher.close()

    def compact(self) -> None:
        self._history.clear()
        self.compacted_rv = self.current_rv

    def close_all(self) -> int:
        with self._watchers_lock:
            watchers = [w for ws in self._watchers.values() for w in ws]
            self._watchers.clear()
        for watcher in watchers:
            watcher.close()
        return len(watchers)

    def open_streams(self) -> int:
        with self._watchers_lock:
            return sum(len(ws) for ws in self._watchers.values())
