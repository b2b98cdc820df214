"""Event handlers: which Requests an informer event enqueues (controller-runtime's pkg/handler).

``enqueue_request_for_object`` enqueues the object itself; ``enqueue_owner(kind)`` enqueues the object's
*controller* owner of that kind (the ownerReference with ``controller: true``, never other owners);
``enqueue_mapped(fn)`` enqueues whatever ``fn`` maps the object to. Updates map both the old and the new
object, so a change of owner or of mapped key reaches both sides. Handlers only compute Requests: they never
touch the API server and must not mutate the objects they get.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from eni.runtime.meta import Obj, ResourceKind, controller_owner, key_of
from eni.runtime.reconcile import Request

MapFunc = Callable[[Obj], Iterable[Request]]


class EventHandler(Protocol):
    """Maps informer events to Requests."""

    def requests_for_add(self, obj: Obj) -> Iterable[Request]: ...

    def requests_for_update(self, old: Obj, new: Obj) -> Iterable[Request]: ...

    def requests_for_delete(self, obj: Obj) -> Iterable[Request]: ...


class MappedHandler:
    """An EventHandler from one mapping function; updates enqueue the union for old and new."""

    def __init__(self, map_fn: MapFunc) -> None:
        self._map = map_fn

    def requests_for_add(self, obj: Obj) -> Iterable[Request]:
        return list(self._map(obj))

    def requests_for_update(self, old: Obj, new: Obj) -> Iterable[Request]:
        return list(dict.fromkeys([*self._map(old), *self._map(new)]))

    def requests_for_delete(self, obj: Obj) -> Iterable[Request]:
        return list(self._map(obj))


def request_for(obj: Obj) -> Request:
    """The Request naming ``obj``."""
    key = key_of(obj)
    return Request(namespace=key.namespace, name=key.name)


def enqueue_request_for_object() -> EventHandler:
    """Enqueue the object that changed."""
    return MappedHandler(lambda obj: [request_for(obj)])


def enqueue_owner(owner_kind: ResourceKind) -> EventHandler:
    """Enqueue the controller owner of the object when it is an ``owner_kind``; other owners are ignored.

    A namespaced owner lives in its dependent's namespace (owner references never cross namespaces); a
    cluster-scoped owner gets namespace "".
    """

    def owner_of(obj: Obj) -> list[Request]:
        ref = controller_owner(obj)
        if ref is None or ref.get("kind") != owner_kind.kind or not ref.get("name"):
            return []
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        if group != owner_kind.group:
            return []
        namespace = key_of(obj).namespace if owner_kind.namespaced else ""
        return [Request(namespace=namespace, name=str(ref["name"]))]

    return MappedHandler(owner_of)


def enqueue_mapped(map_fn: MapFunc) -> EventHandler:
    """Enqueue what ``map_fn`` returns for the object (e.g. the claim named after a pod)."""
    return MappedHandler(map_fn)
