"""The Reflector mirrors one kind into a sink: list, then watch from the list's resourceVersion, forever.

A dropped or timed-out watch is resumed from the last resourceVersion seen (events, bookmarks included), so
nothing is lost or replayed. A 410 Gone (an ERROR event with code 410, or an HTTP 410) means that version
has been compacted away: relist and hand the sink the full set with ``replace``. Failures back off
exponentially on the injected clock. The reflector is the sink's only writer; it never calls handlers itself
and never holds a lock while it waits on the network.
"""

from __future__ import annotations

import random
import threading
from typing import Protocol

from eni.runtime import log as kvlog
from eni.runtime.cache.listwatch import ADDED, BOOKMARK, DELETED, MODIFIED, ListerWatcher, WatchStream
from eni.runtime.client.errors import ApiError, GoneError, TransportError
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import Obj

log = kvlog.get_logger(__name__)

DEFAULT_MIN_WATCH_TIMEOUT = 300
"""Each watch asks for a server timeout in [min, 2*min) seconds (client-go's minWatchTimeout), spreading re-watches."""


class ReflectorSink(Protocol):
    """Receives what the reflector sees, in order, from one thread."""

    def replace(self, items: list[Obj], resource_version: str) -> None: ...

    def add(self, obj: Obj) -> None: ...

    def update(self, obj: Obj) -> None: ...

    def delete(self, obj: Obj) -> None: ...


class Backoff:
    """Exponential backoff with jitter: initial, doubling up to cap; ``reset`` after a success."""

    def __init__(self, *, initial: float = 0.8, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.cap = cap
        self._next = initial
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        delay = self._next * (1.0 + 0.2 * self._rng.random())
        self._next = min(self._next * 2, self.cap)
        return min(delay, self.cap)

    def reset(self) -> None:
        self._next = self.initial


def resource_version_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Reflector:
    """Keeps a sink in step with the API server for one ListerWatcher."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        sink: ReflectorSink,
        *,
        name: str = "",
        clock: Clock = REAL_CLOCK,
        min_watch_timeout: int = DEFAULT_MIN_WATCH_TIMEOUT,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self._lw = lister_watcher
        self._sink = sink
        self._clock = clock
        self._min_watch_timeout = max(1, min_watch_timeout)
        self._backoff = backoff or Backoff()
        self._lock = threading.Lock()
        self._stream: WatchStream | None = None
        self._stopping = False
        self.last_sync_resource_version = ""
        self.lists = 0
        """How many times the reflector has listed (1 + relists); for tests and metrics."""
        self.watches = 0

    def run(self, stop: threading.Event) -> None:
        """List and watch until ``stop`` is set. Never raises for API or transport failures."""
        interrupter = threading.Thread(target=self._interrupt_on, args=(stop,), name=f"{self.name}-stop", daemon=True)
        interrupter.start()
        try:
            while not stop.is_set():
                try:
                    self._list_and_watch(stop)
                except ApiError as e:
                    if stop.is_set():
                        break
                    delay = self._backoff.next_delay()
                    log.warning("List failed; retrying", reflector=self.name, error=str(e), retry_in=round(delay, 3))
                    self._clock.wait(stop, delay)
        finally:
            with self._lock:
                self._stopping = True
            interrupter.join(timeout=5.0)

    def _interrupt_on(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            with self._lock:
                if self._stopping:
                    return
        with self._lock:
            self._stopping = True
            if self._stream is not None:
                self._stream.close()

    def _list_and_watch(self, stop: threading.Event) -> None:
        result = self._lw.list()
        self.lists += 1
        self._sink.replace(result.items, result.resource_version)
        self.last_sync_resource_version = result.resource_version
        self._backoff.reset()
        while not stop.is_set():
            try:
                if not self._watch_once(stop):
                    self._clock.wait(stop, self._backoff.next_delay())
            except GoneError:
                log.info("Watch expired; relisting", reflector=self.name)
                return
            except (TransportError, ApiError) as e:
                if stop.is_set():
                    return
                delay = self._backoff.next_delay()
                log.info("Watch failed; resuming", reflector=self.name, error=str(e), retry_in=round(delay, 3))
                self._clock.wait(stop, delay)

    def _watch_once(self, stop: threading.Event) -> bool:
        """One watch from the last version seen; True if it delivered events (or lasted), False if it ended at once."""
        timeout = random.randint(self._min_watch_timeout, 2 * self._min_watch_timeout - 1)
        started = self._clock.monotonic()
        stream = self._lw.watch(resource_version=self.last_sync_resource_version, timeout_seconds=timeout)
        self.watches += 1
        with self._lock:
            if self._stopping:
                stream.close()
                return True
            self._stream = stream
        delivered = 0
        try:
            for event in stream:
                if stop.is_set():
                    break
                self._apply(event.type, event.object)
                delivered += 1
        finally:
            with self._lock:
                self._stream = None
            stream.close()
        if delivered:
            self._backoff.reset()
        return delivered > 0 or self._clock.monotonic() - started >= 1.0

    def _apply(self, event_type: str, obj: Obj) -> None:
        if event_type == ADDED:
            self._sink.add(obj)
        elif event_type == MODIFIED:
            self._sink.update(obj)
        elif event_type == DELETED:
            self._sink.delete(obj)
        elif event_type != BOOKMARK:
            return
        version = resource_version_of(obj)
        if version:
            self.last_sync_resource_version = version
