"""Serving one watch request as a chunked stream of JSON lines, the way kube-apiserver does.

The stream starts with the initial ADDED events (when no resourceVersion is given) or a replay
of the history after the given version, then follows live changes until ``timeoutSeconds``, the
server's stop, or :meth:`WatchHub.close_all`. Bookmarks carry the latest resourceVersion when the
client allows them. A resourceVersion older than the history becomes a single ERROR event with a
410 Expired Status, which is what clients expect. Writes go to a callable, so this module never
sees sockets, and it always unregisters its stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors, table
from .endpoints import Request, flag, selectors
from .index import Stored, dumps
from .kinds import ResourceType
from .selectors import FieldRequirement, FieldSelector
from .store import Store
from .watch import Delivery, Watcher

DEFAULT_TIMEOUT = 1800.0
_BATCH_BYTES = 256 * 1024
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True, slots=True)
class WatchSettings:
    bookmark_interval: float
    stop: threading.Event


def _since(request: Request) -> int | None:
    raw = request.query.get("resourceVersion", "")
    if flag(request.query, "sendInitialEvents") or raw in ("", "0"):
        return None
    try:
        return int(raw)
    except ValueError as e:
        raise errors.bad_request(f"invalid resource version {raw!r}") from e


def _event_line(event_type: str, raw: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + raw + b"}\n"


class WatchStream:
    """One watch request from open to close."""

    def __init__(self, store: Store, rt: ResourceType, request: Request, settings: WatchSettings) -> None:
        self._store = store
        self._rt = rt
        self._request = request
        self._settings = settings
        labels, fields = selectors(rt, request.query)
        if request.path.name:
            fields = FieldSelector(fields.requirements + (FieldRequirement("metadata.name", True, request.path.name),))
        self._labels, self._fields = labels, fields
        timeout = request.query.get("timeoutSeconds", "")
        self._timeout = float(timeout) if timeout.isdigit() else DEFAULT_TIMEOUT
        self._bookmarks = flag(request.query, "allowWatchBookmarks")
        self._since = _since(request)

    def _encode(self, delivery_type: str, obj: dict[str, Any], raw: bytes) -> bytes:
        if self._request.wants_table and delivery_type != "ERROR" and delivery_type != "BOOKMARK":
            rows = table.to_table(self._rt, [obj], include_object=self._request.query.get("includeObject", "Metadata"))
            return _event_line(delivery_type, dumps(rows))
        return _event_line(delivery_type, raw)

    def _bookmark(self, rv: int, *, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        return _event_line(
            "BOOKMARK", dumps({"kind": self._rt.kind, "apiVersion": self._rt.api_version, "metadata": meta})
        )

    def serve(self, write: Callable[[bytes], None]) -> None:
        """Stream events through ``write`` (one call per chunk); returns when the stream ends."""
        try:
            watcher, initial, rv = self._store.watch(
                self._rt, self._request.path.namespace, labels=self._labels, fields=self._fields, since=self._since
            )
        except errors.StatusError as e:
            write(_event_line("ERROR", e.body()))
            return
        try:
            self._send_initial(write, initial, rv)
            self._follow(write, watcher)
        finally:
            self._store.hub.unregister(watcher)

    def _send_initial(self, write: Callable[[bytes], None], initial: list[Stored], rv: int) -> None:
        batch: list[bytes] = []
        size = 0
        for stored in initial:
            line = self._encode("ADDED", stored.obj, stored.raw)
            batch.append(line)
            size += len(line)
            if size >= _BATCH_BYTES:
                write(b"".join(batch))
                batch, size = [], 0
        if self._bookmarks and flag(self._request.query, "sendInitialEvents"):
            batch.append(self._bookmark(rv, initial_end=True))
        if batch:
            write(b"".join(batch))

    def _follow(self, write: Callable[[bytes], None], watcher: Watcher) -> None:
        deadline = time.monotonic() + self._timeout
        interval = self._settings.bookmark_interval
        next_bookmark = time.monotonic() + interval
        while not self._settings.stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            wait = min(0.5, deadline - now, max(0.0, next_bookmark - now) if self._bookmarks else 0.5)
            delivery = watcher.next(wait)
            if delivery is not None:
                write(self._drain(watcher, delivery))
                continue
            if watcher.closed:
                return
            if self._bookmarks and time.monotonic() >= next_bookmark:
                next_bookmark = time.monotonic() + interval
                with self._store.lock:
                    rv = self._store.resource_version if watcher.idle else None
                if rv is not None:
                    write(self._bookmark(rv))

    def _drain(self, watcher: Watcher, first: Delivery) -> bytes:
        """The first delivery plus whatever else is already queued, as one chunk."""
        lines = [self._encode(first.type, first.obj, first.raw)]
        size = len(lines[0])
        while size < _BATCH_BYTES and not watcher.idle:
            more = watcher.next(0)
            if more is None:
                break
            lines.append(self._encode(more.type, more.obj, more.raw))
            size += len(lines[-1])
        return b"".join(lines)
