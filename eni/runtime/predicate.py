"""Predicates filter informer events before a handler sees them (controller-runtime's pkg/predicate).

A predicate answers, per event type, whether the event should reach the handler. Typical: ignore status-only
updates (``GenerationChanged``), or react only to label/annotation changes. Predicates are pure functions of
the objects; they must not mutate them nor call the API server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from eni.runtime.meta import Obj


class Predicate(Protocol):
    def create(self, obj: Obj) -> bool: ...

    def update(self, old: Obj, new: Obj) -> bool: ...

    def delete(self, obj: Obj) -> bool: ...


class Funcs:
    """A Predicate from optional functions; a missing function lets its events through."""

    def __init__(
        self,
        *,
        create: Callable[[Obj], bool] | None = None,
        update: Callable[[Obj, Obj], bool] | None = None,
        delete: Callable[[Obj], bool] | None = None,
    ) -> None:
        self._create, self._update, self._delete = create, update, delete

    def create(self, obj: Obj) -> bool:
        return self._create(obj) if self._create is not None else True

    def update(self, old: Obj, new: Obj) -> bool:
        return self._update(old, new) if self._update is not None else True

    def delete(self, obj: Obj) -> bool:
        return self._delete(obj) if self._delete is not None else True


def _metadata(obj: Obj, field: str) -> Any:
    return (obj.get("metadata") or {}).get(field)


def generation_changed() -> Predicate:
    """Updates pass only when metadata.generation changed (spec changes; not status, labels or resyncs)."""
    return Funcs(update=lambda old, new: _metadata(old, "generation") != _metadata(new, "generation"))


def labels_changed() -> Predicate:
    """Updates pass only when the labels changed."""
    return Funcs(update=lambda old, new: (_metadata(old, "labels") or {}) != (_metadata(new, "labels") or {}))


def annotations_changed() -> Predicate:
    """Updates pass only when the annotations changed."""
    return Funcs(
        update=lambda old, new: (_metadata(old, "annotations") or {}) != (_metadata(new, "annotations") or {})
    )


def resource_version_changed() -> Predicate:
    """Updates pass only when the object really changed (drops periodic resyncs)."""
    return Funcs(update=lambda old, new: _metadata(old, "resourceVersion") != _metadata(new, "resourceVersion"))


def any_of(*predicates: Predicate) -> Predicate:
    """Events pass when at least one predicate lets them through."""
    return Funcs(
        create=lambda obj: any(p.create(obj) for p in predicates),
        update=lambda old, new: any(p.update(old, new) for p in predicates),
        delete=lambda obj: any(p.delete(obj) for p in predicates),
    )


def all_of(*predicates: Predicate) -> Predicate:
    """Events pass when every predicate lets them through."""
    return Funcs(
        create=lambda obj: all(p.create(obj) for p in predicates),
        update=lambda old, new: all(p.update(old, new) for p in predicates),
        delete=lambda obj: all(p.delete(obj) for p in predicates),
    )
