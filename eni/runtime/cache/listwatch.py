"""How a reflector lists and watches one kind: the ListerWatcher seam and its implementation over HTTP.

``KubeListerWatcher`` lists in pages (``limit``/``continue``, client-go's ListPager: 500 objects a page) and
watches with a chunked GET (``watch=true``,
``allowWatchBookmarks``, ``timeoutSeconds``) whose lines it decodes itself, with a socket read timeout a little
longer than ``timeoutSeconds`` so a silently dead connection is noticed. Objects stay plain dicts. A watch ERROR
event is turned into a typed ApiError (410 → GoneError) so the reflector can relist. A continue token that
expired between pages (410) falls back to one unpaginated list, as client-go's pager does; apart from that,
nothing here retries.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError, GoneError, TransportError, error_from_status
from eni.runtime.client.transport import KubeTransport, close_stream, iter_lines
from eni.runtime.meta import Obj, ResourceKind

log = kvlog.get_logger(__name__)

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
EVENT_TYPES = frozenset((ADDED, MODIFIED, DELETED, BOOKMARK, ERROR))

# Added to timeoutSeconds for the socket read timeout: the server ends the watch itself before that.
_READ_TIMEOUT_MARGIN = 15.0

DEFAULT_PAGE_SIZE = 500
"""Objects per list page, as client-go's pager; 0 lists everything in one response."""

# Bounds the page loop against a server that keeps answering with continue tokens.
_MAX_PAGES = 100_000


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[Obj]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str
    """ADDED, MODIFIED, DELETED or BOOKMARK (ERROR events are raised as ApiError instead)."""
    object: Obj


@dataclass(frozen=True, slots=True)
class Selector:
    """What part of a kind a reflector mirrors."""

    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""


class WatchStream(Protocol):
    """An open watch; iterate it for events, ``close()`` it from any thread to stop it."""

    def __iter__(self) -> Iterator[WatchEvent]: ...

    def close(self) -> None: ...


class ListerWatcher(Protocol):
    """Lists and watches one selection of one kind. Implementations are thread-safe."""

    def list(self) -> ListResult:
        """A consistent list of every selected object and the collection's resourceVersion."""
        ...

    def watch(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Changes after ``resource_version``; raises GoneError (now or while iterating) when it is too old."""
        ...


class HttpWatchStream:
    """A watch over a chunked HTTP response."""

    def __init__(self, open_response: KubeTransport, path: str, query: list[tuple[str, str]], read_timeout: float):
        self._closed = threading.Event()
        self._resp = open_response.stream(path, query=query, read_timeout=read_timeout)

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for line in iter_lines(self._resp):
                yield decode_watch_line(line)
        except TransportError:
            if not self._closed.is_set():
                raise
        finally:
            close_stream(self._resp)

    def close(self) -> None:
        self._closed.set()
        close_stream(self._resp)


def decode_watch_line(line: bytes) -> WatchEvent:
    """One line of a watch stream as an event; ERROR events and garbage raise ApiError.

    >>> decode_watch_line(b'{"type": "ADDED", "object": {"metadata": {"name": "a"}}}').type
    'ADDED'
    >>> decode_watch_line(b'{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}')
    Traceback (most recent call last):
    ...
    eni.runtime.client.errors.GoneError: 410 Expired: 
    """
    try:
        event = json.loads(line)
    except ValueError as e:
        raise ApiError(0, "BadWatchEvent", "undecodable watch line") from e
    if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES or not isinstance(event.get("object"), dict):
        raise ApiError(0, "BadWatchEvent", f"malformed watch event: {line[:120]!r}")
    if event["type"] == ERROR:
        status = event["object"]
        code = status.get("code")
        raise error_from_status(code if isinstance(code, int) else 500, status)
    return WatchEvent(type=event["type"], object=event["object"])


class KubeListerWatcher:
    """Lists and watches ``kind`` (scoped by ``selector``) through a KubeTransport."""

    def __init__(
        self,
        transport: KubeTransport,
        kind: ResourceKind,
        selector: Selector = Selector(),
        *,
        read_timeout_margin: float = _READ_TIMEOUT_MARGIN,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if page_size < 0:
            raise ValueError(f"page_size must be >= 0, got {page_size}")
        self.transport = transport
        self.kind = kind
        self.selector = selector
        self.read_timeout_margin = read_timeout_margin
        self.page_size = page_size
        self.pages = 0
        """List requests answered so far (every page counts); for tests and benchmarks."""
        self._path = kind.collection_path(selector.namespace)

    def _query(self) -> list[tuple[str, str]]:
        query = []
        if self.selector.label_selector:
            query.append(("labelSelector", self.selector.label_selector))
        if self.selector.field_selector:
            query.append(("fieldSelector", self.selector.field_selector))
        return query

    def list(self) -> ListResult:
        """Every selected object, page by page, at the first page's resourceVersion (the list's snapshot)."""
        if self.page_size == 0:
            items, rv, _ = self._list_page(())
            return ListResult(items=items, resource_version=rv)
        limit = ("limit", str(self.page_size))
        items, rv, token = self._list_page((limit,))
        seen_tokens: set[str] = set()
        while token:
            if token in seen_tokens or len(seen_tokens) >= _MAX_PAGES:
                raise ApiError(0, "BadResponse", f"list of {self.kind.plural} does not end: continue token repeats")
            seen_tokens.add(token)
            try:
                page, _, token = self._list_page((limit, ("continue", token)))
            except GoneError:
                log.info("Continue token expired; listing without pages", resource=self.kind.plural)
                items, rv, _ = self._list_page(())
                break
            items.extend(page)
        return ListResult(items=items, resource_version=rv)

    def _list_page(self, extra: tuple[tuple[str, str], ...]) -> tuple[builtins.list[Obj], str, str]:
        """One list request: (items, resourceVersion, continue token or "")."""
        body = self.transport.request("GET", self._path, query=self._query() + list(extra),
                                      timeout=max(self.transport.timeout, 60.0))
        self.pages += 1
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ApiError(0, "BadResponse", f"list of {self.kind.plural} is not a List")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ApiError(0, "BadResponse", f"list of {self.kind.plural} has malformed metadata")
        rv = str(metadata.get("resourceVersion") or "")
        return list(body.get("items") or []), rv, str(metadata.get("continue") or "")

    def watch(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        query = self._query() + [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        return HttpWatchStream(self.transport, self._path, query, timeout_seconds + self.read_timeout_margin)
