"""A thread-safe store of objects keyed by "namespace/name", with secondary indexes (client-go's ThreadSafeStore).

An index function maps an object to the index values it files under (``Callable[[Obj], list[str]]``), e.g. the
node name of a pod. Indexes are updated atomically with the object, so a reader never sees an index pointing at
an object that is not there. Objects are stored and returned as is, shared with every reader: callers must not
mutate them (deep-copy before writing). The store itself never copies and never calls out while locked except
into index functions, which must be pure and fast.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping

from eni.runtime.meta import Obj, key_of

IndexFunc = Callable[[Obj], list[str]]
"""Maps an object to the values it is indexed under."""

NAMESPACE_INDEX = "namespace"


def object_key(obj: Obj) -> str:
    """The store key of an object: "namespace/name", or "name" for cluster-scoped ones."""
    return str(key_of(obj))


def index_by_namespace(obj: Obj) -> list[str]:
    """Index objects by namespace ("" for cluster-scoped ones)."""
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def index_by_field(path: str) -> IndexFunc:
    """An index on a dotted field path, e.g. ``index_by_field("spec.nodeName")``; missing fields index nothing."""
    parts = path.split(".")

    def index(obj: Obj) -> list[str]:
        value: object = obj
        for part in parts:
            if not isinstance(value, Mapping):
                return []
            value = value.get(part)
        return [str(value)] if value not in (None, "") else []

    return index


class UnknownIndexError(KeyError):
    """Lookup in an index that was never registered."""


class Store:
    """Objects by key plus named indexes; every method is safe to call from any thread."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        # index name -> index value -> keys filed under it
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Register more indexes; existing objects are indexed at once. Re-registering a name is an error."""
        with self._lock:
            for name, fn in indexers.items():
                if name in self._indexers:
                    raise ValueError(f"index {name!r} already exists")
                self._indexers[name] = fn
                self._indices[name] = {}
                for key, obj in self._items.items():
                    self._index_one(name, fn, key, obj)

    def index_names(self) -> builtins.list[str]:
        with self._lock:
            return sorted(self._indexers)

    def add(self, obj: Obj) -> Obj | None:
        """Insert or replace ``obj``; return the object it replaced."""
        key = object_key(obj)
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._unindex(key, old)
            self._items[key] = obj
            for name, fn in self._indexers.items():
                self._index_one(name, fn, key, obj)
            return old

    update = add

    def delete(self, obj_or_key: Obj | str) -> Obj | None:
        """Remove an object by object or key; return what was removed."""
        key = obj_or_key if isinstance(obj_or_key, str) else object_key(obj_or_key)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            return old

    def replace(self, objs: Iterable[Obj]) -> dict[str, Obj]:
        """Swap the whole content for ``objs``; return the previous content by key."""
        with self._lock:
            previous = self._items
            self._items = {}
            self._indices = {name: {} for name in self._indexers}
            for obj in objs:
                key = object_key(obj)
                self._items[key] = obj
                for name, fn in self._indexers.items():
                    self._index_one(name, fn, key, obj)
            return previous

    def get_by_key(self, key: str) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def list(self) -> list[Obj]:
        with self._lock:
            return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        """Objects filed under ``value`` in index ``index_name``."""
        with self._lock:
            return [self._items[key] for key in sorted(self._index(index_name).get(value, ()))]

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        with self._lock:
            return sorted(self._index(index_name).get(value, ()))

    def index_values(self, index_name: str) -> builtins.list[str]:
        """Every value that currently has objects in index ``index_name``."""
        with self._lock:
            return sorted(self._index(index_name))

    def _index(self, index_name: str) -> dict[str, set[str]]:
        try:
            return self._indices[index_name]
        except KeyError:
            raise UnknownIndexError(f"no index named {index_name!r}") from None

    def _index_one(self, name: str, fn: IndexFunc, key: str, obj: Obj) -> None:
        index = self._indices[name]
        for value in fn(obj):
            index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
