"""SharedInformer: a reflector feeding an indexed store, and handlers notified after the store changes.

Every registered handler gets its own thread and an unbounded FIFO of notifications (client-go's
processorListener), so a slow handler delays only itself and never the watch. Handlers see ``on_add(obj,
is_in_initial_list)``, ``on_update(old, new)`` and ``on_delete(obj | DeletedFinalStateUnknown)``, always after
the store and its indexes reflect the change. A handler registered late first receives an add for every cached
object, atomically with its registration, so it misses nothing and sees nothing twice. After a relist (410 Gone)
objects whose resourceVersion changed arrive as updates, vanished ones as deletes carrying a
``DeletedFinalStateUnknown``, and unchanged ones not at all. Objects are shared with
the store and every other handler: handlers MUST NOT mutate what they receive (deep-copy before writing).
A handler that raises is logged; it never stops the informer.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from eni.runtime.cache.listwatch import ListerWatcher
from eni.runtime.cache.reflector import DEFAULT_MIN_WATCH_TIMEOUT, Reflector, resource_version_of
from eni.runtime.cache.store import IndexFunc, Store, object_key
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import Obj

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """A delete the informer inferred on relist without seeing the object's final state: ``obj`` is the last
    version it had cached, possibly stale."""

    key: str
    obj: Obj


class ResourceEventHandler(Protocol):
    """Receives an informer's notifications on the handler's own thread, in order."""

    def on_add(self, obj: Obj, is_in_initial_list: bool) -> None: ...

    def on_update(self, old: Obj, new: Obj) -> None: ...

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None: ...


class EventHandlerFuncs:
    """A ResourceEventHandler from optional functions; missing ones ignore their notification."""

    def __init__(
        self,
        *,
        on_add: Callable[[Obj, bool], None] | None = None,
        on_update: Callable[[Obj, Obj], None] | None = None,
        on_delete: Callable[[Obj | DeletedFinalStateUnknown], None] | None = None,
    ) -> None:
        self._add, self._update, self._delete = on_add, on_update, on_delete

    def on_add(self, obj: Obj, is_in_initial_list: bool) -> None:
        if self._add is not None:
            self._add(obj, is_in_initial_list)

    def on_update(self, old: Obj, new: Obj) -> None:
        if self._update is not None:
            self._update(old, new)

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        if self._delete is not None:
            self._delete(obj)


_SYNCED = "_synced"  # marker queued after a handler's initial adds


class HandlerRegistration:
    """One handler's delivery thread and queue; ``has_synced`` once its initial adds were delivered."""

    def __init__(self, handler: ResourceEventHandler, name: str) -> None:
        self.handler = handler
        self._cond = threading.Condition()
        self._pending: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._synced = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"informer-handler-{name}", daemon=True)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def _push(self, kind: str, *args: Any) -> None:
        with self._cond:
            self._pending.append((kind, args))
            self._cond.notify()

    def _push_synced(self) -> None:
        with self._cond:
            self._pending.append((_SYNCED, ()))
            self._cond.notify()

    def _stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait(1.0)
                if self._stopped:
                    return
                kind, args = self._pending.popleft()
            if kind == _SYNCED:
                self._synced.set()
                continue
            try:
                getattr(self.handler, kind)(*args)
            except Exception:
                log.exception("Event handler failed", extra={"kv": {"handler": type(self.handler).__name__}})


class SharedInformer:
    """A cache of one selection of one kind, kept current by a Reflector, with event handlers."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        *,
        name: str = "",
        indexers: Mapping[str, IndexFunc] | None = None,
        resync_period: float = 0.0,
        clock: Clock = REAL_CLOCK,
        min_watch_timeout: int = DEFAULT_MIN_WATCH_TIMEOUT,
    ) -> None:
        self.name = name
        self.store = Store(indexers)
        self._clock = clock
        self._resync_period = resync_period
        self._lock = threading.RLock()
        self._registrations: list[HandlerRegistration] = []
        self._synced = threading.Event()
        self._started = False
        self.reflector = Reflector(lister_watcher, self, name=name, clock=clock, min_watch_timeout=min_watch_timeout)

    # -- reading -------------------------------------------------------------------------------------------
    def get_by_key(self, key: str) -> Obj | None:
        return self.store.get_by_key(key)

    def list(self) -> list[Obj]:
        return self.store.list()

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        return self.store.by_index(index_name, value)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def has_synced(self) -> bool:
        """True once the first list is in the store."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Block (real time) until synced, ``timeout`` passed or ``stop`` set; return ``has_synced()``."""
        if stop is None:
            return self._synced.wait(timeout)
        deadline = time.monotonic() + timeout
        while not self._synced.is_set() and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._synced.wait(min(0.05, remaining))
        return self._synced.is_set()

    # -- handlers ------------------------------------------------------------------------------------------
    def add_event_handler(self, handler: ResourceEventHandler) -> HandlerRegistration:
        """Register ``handler``; if the informer already has objects, it first gets an add for each."""
        registration = HandlerRegistration(handler, self.name)
        with self._lock:
            self._registrations.append(registration)
            if self._synced.is_set():
                for obj in self.store.list():
                    registration._push("on_add", obj, True)
                registration._push_synced()
            if self._started:
                registration._thread.start()
        return registration

    def _notify(self, kind: str, *args: Any) -> None:
        for registration in self._registrations:
            registration._push(kind, *args)

    # -- the reflector's sink ------------------------------------------------------------------------------
    def replace(self, items: builtins.list[Obj], resource_version: str) -> None:
        with self._lock:
            previous = self.store.replace(items)
            initial = not self._synced.is_set()
            for obj in items:
                old = previous.pop(object_key(obj), None)
                if old is None:
                    self._notify("on_add", obj, initial)
                elif resource_version_of(old) != resource_version_of(obj):
                    self._notify("on_update", old, obj)
            for key, gone in previous.items():
                self._notify("on_delete", DeletedFinalStateUnknown(key=key, obj=gone))
            if initial:
                for registration in self._registrations:
                    registration._push_synced()
                self._synced.set()

    def add(self, obj: Obj) -> None:
        with self._lock:
            old = self.store.add(obj)
            if old is None:
                self._notify("on_add", obj, False)
            else:
                self._notify("on_update", old, obj)

    def update(self, obj: Obj) -> None:
        self.add(obj)

    def delete(self, obj: Obj) -> None:
        with self._lock:
            self.store.delete(obj)
            self._notify("on_delete", obj)

    def resync(self) -> None:
        """Deliver ``on_update(obj, obj)`` for every cached object, so handlers can re-check the level."""
        with self._lock:
            for obj in self.store.list():
                self._notify("on_update", obj, obj)

    # -- running -------------------------------------------------------------------------------------------
    def start(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set: the reflector, the handlers' threads and the periodic resync."""
        with self._lock:
            if self._started:
                raise RuntimeError(f"informer {self.name} already started")
            self._started = True
            for registration in self._registrations:
                registration._thread.start()
        reflector = threading.Thread(target=self.reflector.run, args=(stop,), name=f"reflector-{self.name}",
                                     daemon=True)
        reflector.start()
        try:
            if self._resync_period > 0:
                while not self._clock.wait(stop, self._resync_period):
                    if self._synced.is_set():
                        self.resync()
            else:
                while not stop.wait(1.0):
                    pass
        finally:
            reflector.join(timeout=10.0)
            with self._lock:
                for registration in self._registrations:
                    registration._stop()
