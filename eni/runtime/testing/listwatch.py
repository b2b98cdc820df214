"""FakeListerWatcher: an in-memory collection with a watch history, for reflector and informer unit tests.

``create``/``modify``/``remove`` change the collection and append to the history with a fresh
resourceVersion; watches replay the history after their version and then follow live changes. ``drop_watches``
ends every open watch (as a dropped connection does) and ``compact`` forgets the history so a watch from an
older version fails with GoneError, exactly what forces a reflector to relist.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

from eni.runtime.cache.listwatch import ADDED, DELETED, MODIFIED, ListResult, WatchEvent
from eni.runtime.cache.store import object_key
from eni.runtime.client.errors import GoneError, TransportError
from eni.runtime.meta import Obj


class FakeWatchStream:
    def __init__(self, source: FakeListerWatcher, start_index: int) -> None:
        self._source = source
        self._index = start_index
        self._closed = False

    def __iter__(self) -> Iterator[WatchEvent]:
        source = self._source
        while True:
            with source._cond:
                while not self._closed and self._index >= len(source._history) and not source._gone_for(self):
                    source._cond.wait(0.05)
                if self._closed:
                    return
                if source._gone_for(self):
                    raise GoneError(410, "Expired", "too old resource version")
                event = source._history[self._index]
                self._index += 1
            yield event

    def close(self) -> None:
        with self._source._cond:
            self._closed = True
            self._source._cond.notify_all()


class FakeListerWatcher:
    """Implements ``eni.runtime.cache.ListerWatcher`` in memory. Thread-safe."""

    def __init__(self, objects: list[Obj] | None = None) -> None:
        self._cond = threading.Condition()
        self._version = 0
        self._objects: dict[str, Obj] = {}
        # Events after _base_version, in order; event i has resourceVersion _base_version + i + 1 (or later).
        self._history: list[WatchEvent] = []
        self._history_versions: list[int] = []
        self._compacted_at = 0
        self._streams: list[FakeWatchStream] = []
        self._expired: set[int] = set()
        self.lists = 0
        self.watch_versions: list[str] = []
        self.fail_next_lists = 0
        for obj in objects or []:
            self.create(obj)

    def _bump(self, obj: Obj) -> Obj:
        self._version += 1
        stamped = copy.deepcopy(obj)
        stamped.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        return stamped

    def _record(self, event_type: str, obj: Obj) -> Obj:
        with self._cond:
            stamped = self._bump(obj)
            if event_type == DELETED:
                self._objects.pop(object_key(stamped), None)
            else:
                self._objects[object_key(stamped)] = stamped
            self._history.append(WatchEvent(type=event_type, object=stamped))
            self._history_versions.append(self._version)
            self._cond.notify_all()
            return stamped

    def create(self, obj: Obj) -> Obj:
        return self._record(ADDED, obj)

    def modify(self, obj: Obj) -> Obj:
        return self._record(MODIFIED, obj)

    def remove(self, obj: Obj) -> Obj:
        return self._record(DELETED, obj)

    def drop_watches(self) -> None:
        """End every open watch, as a dropped connection does."""
        with self._cond:
            for stream in self._streams:
                stream._closed = True
            self._streams.clear()
            self._cond.notify_all()

    def compact(self) -> None:
        """Forget the history: open watches and watches from older versions get GoneError."""
        with self._cond:
            self._compacted_at = self._version
            self._expired.update(id(s) for s in self._streams)
            self._cond.notify_all()

    def _gone_for(self, stream: FakeWatchStream) -> bool:
        return id(stream) in self._expired

    def set_silently(self, objects: list[Obj]) -> None:
        """Change the collection WITHOUT watch events (so only a relist can notice), e.g. a delete we missed."""
        with self._cond:
            self._objects = {object_key(o): self._bump(o) for o in objects}

    # -- ListerWatcher -------------------------------------------------------------------------------------
    def list(self) -> ListResult:
        with self._cond:
            if self.fail_next_lists > 0:
                self.fail_next_lists -= 1
                raise TransportError("injected list failure")
            self.lists += 1
            return ListResult(items=list(self._objects.values()), resource_version=str(self._version))

    def watch(self, *, resource_version: str, timeout_seconds: int) -> FakeWatchStream:
        with self._cond:
            self.watch_versions.append(resource_version)
            version = int(resource_version or 0)
            if version < self._compacted_at:
                raise GoneError(410, "Expired", f"too old resource version: {version}")
            start = sum(1 for v in self._history_versions if v <= version)
            stream = FakeWatchStream(self, start)
            self._streams.append(stream)
            return stream
