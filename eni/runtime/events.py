"""EventRecorder: core/v1 Events about objects, aggregated, rate-limited, and never in the caller's way.

``event(obj, reason=..., message=...)`` only queues; a writer thread creates the Event. A repeat of the same
(object, type, reason, message) increments ``count`` and ``lastTimestamp`` of the existing Event with a merge
patch instead of creating another (client-go's EventCorrelator). Each object may emit a burst of 25 Events,
then one per 5 minutes (client-go's spam filter); excess Events and a full queue are dropped. Nothing here
raises into callers: a failed write is logged at debug level and forgotten.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eni.runtime.client.errors import ApiError, NotFoundError
from eni.runtime.client.interfaces import PatchType, Writer
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import EVENT, ObjectKey, ResourceKind
from eni.runtime.tokenbucket import TokenBucket

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

_MAX_TRACKED = 4096


@dataclass(frozen=True, slots=True)
class _Pending:
    involved: Mapping[str, Any]
    type: str
    reason: str
    message: str
    at: datetime


@dataclass(slots=True)
class _Seen:
    namespace: str
    name: str
    count: int


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def involved_object(obj: Mapping[str, Any], kind: ResourceKind | None) -> dict[str, Any]:
    """The ObjectReference of ``obj`` (items of a list carry no kind, hence the optional ``kind``)."""
    metadata = obj.get("metadata") or {}
    return {
        "apiVersion": kind.api_version if kind else obj.get("apiVersion", ""),
        "kind": kind.kind if kind else obj.get("kind", ""),
        "namespace": metadata.get("namespace") or "",
        "name": metadata.get("name") or "",
        "uid": metadata.get("uid") or "",
        "resourceVersion": metadata.get("resourceVersion") or "",
    }


class EventRecorder:
    """Records Events through ``client``; thread-safe; its writer thread starts with the first event."""

    def __init__(
        self,
        client: Writer,
        *,
        component: str,
        host: str = "",
        clock: Clock = REAL_CLOCK,
        burst: int = 25,
        qps: float = 1.0 / 300.0,
        max_queued: int = 1000,
    ) -> None:
        self._client = client
        self.component = component
        self.host = host
        self._clock = clock
        self._burst, self._qps = burst, qps
        self._cond = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._max_queued = max_queued
        self._busy = False
        self._closed = False
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def event(
        self, obj: Mapping[str, Any], *, reason: str, message: str, type: str = NORMAL, kind: ResourceKind | None = None
    ) -> None:
        """Queue an Event about ``obj``; never blocks on the API and never raises."""
        try:
            pending = _Pending(involved_object(obj, kind), type, reason, message[:1024], self._clock.now())
        except Exception:  # a malformed object must not hurt the caller
            log.debug("Dropped event about a malformed object", exc_info=True)
            return
        with self._cond:
            if self._closed or len(self._queue) >= self._max_queued:
                self.dropped += 1
                return
            self._queue.append(pending)
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"events-{self.component}", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (real time) until every queued Event has been written or dropped."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within ``timeout``), then stop the writer thread."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def start(self, stop: threading.Event) -> None:
        """Runnable form: record until ``stop`` is set, then close."""
        while not stop.wait(1.0):
            pass
        self.close()

    def need_leader_election(self) -> bool:
        return False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait(1.0)
                if not self._queue:
                    return
                pending = self._queue.popleft()
                self._busy = True
            try:
                self._write(pending)
            except Exception:  # a recorder never fails its callers, whatever the API says
                log.debug("Event write failed", exc_info=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _allowed(self, involved: Mapping[str, Any]) -> bool:
        key = involved["uid"] or f'{involved["kind"]}/{involved["namespace"]}/{involved["name"]}'
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(qps=self._qps, burst=self._burst, clock=self._clock)
            self._buckets[key] = bucket
            if len(self._buckets) > _MAX_TRACKED:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket.try_take()

    def _write(self, pending: _Pending) -> None:
        involved = pending.involved
        key = (involved["uid"], involved["kind"], involved["namespace"], involved["name"],
               pending.type, pending.reason, pending.message)
        if not self._allowed(involved):
            self.dropped += 1
            return
        seen = self._seen.get(key)
        if seen is not None:
            try:
                self._client.patch(
                    EVENT,
                    ObjectKey(seen.namespace, seen.name),
                    {"count": seen.count + 1, "lastTimestamp": _timestamp(pending.at)},
                    patch_type=PatchType.MERGE,
                )
                seen.count += 1
                self._seen.move_to_end(key)
                return
            except NotFoundError:
                del self._seen[key]
        self._create(key, pending)

    def _create(self, key: tuple[str, ...], pending: _Pending) -> None:
        involved = pending.involved
        namespace = involved["namespace"] or "default"
        # client-go's "<name>.<unix nanos in hex>", plus a random tail: two Events in one clock tick must not collide.
        name = f'{involved["name"] or "object"}.{int(pending.at.timestamp() * 1e9):x}{secrets.randbelow(1 << 16):04x}'
        stamp = _timestamp(pending.at)
        body = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": dict(involved),
            "reason": pending.reason,
            "message": pending.message,
            "type": pending.type,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        try:
            self._client.create(EVENT, body)
        except ApiError as e:
            log.debug("Event not recorded: %s", e)
            return
        self._seen[key] = _Seen(namespace, name, 1)
        if len(self._seen) > _MAX_TRACKED:
            self._seen.popitem(last=False)
