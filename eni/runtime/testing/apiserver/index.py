"""The in-memory collections behind the store: objects by resource and key, by uid, and by owner.

Each resource's objects are kept with their pre-serialized JSON and a lazily sorted key list, so
a page of a list is a bisect plus a slice and a watch's initial state is a walk in key order. The
uid and owner indexes let the garbage collector find dependents without scanning. Not
thread-safe by itself: the store calls it with its lock held. It never changes resourceVersions
and never publishes events.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .paging import Key, encode_continue
from .selectors import FieldSelector, LabelSelector

_MAX_KEY = "\U0010ffff"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Stored:
    """A committed object and its JSON; both are shared and must never be mutated."""

    obj: dict[str, Any]
    raw: bytes

    @property
    def rv(self) -> int:
        return int(self.obj["metadata"]["resourceVersion"])

    @property
    def key(self) -> Key:
        meta = self.obj["metadata"]
        return (meta.get("namespace", ""), meta["name"])


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Stored]
    resource_version: int
    continue_token: str
    remaining: int | None


def owner_uids(obj: dict[str, Any]) -> set[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {str(r.get("uid")) for r in refs if isinstance(r, dict) and r.get("uid")}


class ObjectIndex:
    """Objects by (storage key, namespace, name), by uid, and dependents by owner uid."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, Stored]] = {}
        self._sorted: dict[str, list[Key]] = {}  # storage key -> sorted keys; dropped when keys change
        self._uids: dict[str, tuple[str, Key]] = {}
        self._dependents: dict[str, set[tuple[str, Key]]] = {}

    def get(self, storage_key: str, key: Key) -> Stored | None:
        return self._objects.get(storage_key, {}).get(key)

    def by_uid(self, uid: str) -> tuple[str, Stored] | None:
        where = self._uids.get(uid)
        return None if where is None else (where[0], self._objects[where[0]][where[1]])

    def dependents(self, owner_uid: str) -> list[tuple[str, Stored]]:
        return [(sk, self._objects[sk][key]) for sk, key in self._dependents.get(owner_uid, set())]

    def keys_in_namespace(self, namespace: str) -> list[tuple[str, Key]]:
        return [(sk, key) for sk, coll in self._objects.items() for key in coll if key[0] == namespace]

    def in_order(self, storage_key: str) -> Iterator[Stored]:
        coll = self._objects.get(storage_key, {})
        return (coll[key] for key in self._sorted_keys(storage_key))

    def all_objects(self) -> list[dict[str, Any]]:
        return [s.obj for coll in self._objects.values() for s in coll.values()]

    def _sorted_keys(self, storage_key: str) -> list[Key]:
        keys = self._sorted.get(storage_key)
        if keys is None:
            keys = sorted(self._objects.get(storage_key, {}))
            self._sorted[storage_key] = keys
        return keys

    def put(self, storage_key: str, stored: Stored, old: Stored | None) -> set[str]:
        """Insert or replace; returns the owner uids this object newly references."""
        key = stored.key
        coll = self._objects.setdefault(storage_key, {})
        if key not in coll:
            self._sorted.pop(storage_key, None)
        coll[key] = stored
        self._uids[stored.obj["metadata"]["uid"]] = (storage_key, key)
        before = owner_uids(old.obj) if old else set()
        after = owner_uids(stored.obj)
        for uid in before - after:
            self._dependents.get(uid, set()).discard((storage_key, key))
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add((storage_key, key))
        return after - before

    def remove(self, storage_key: str, stored: Stored) -> set[str]:
        """Forget an object; returns the owner uids it referenced."""
        key = stored.key
        self._objects.get(storage_key, {}).pop(key, None)
        self._sorted.pop(storage_key, None)
        self._uids.pop(stored.obj["metadata"]["uid"], None)
        owners = owner_uids(stored.obj)
        for uid in owners:
            self._dependents.get(uid, set()).discard((storage_key, key))
        return owners

    def page(
        self,
        storage_key: str,
        namespace: str,
        *,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int,
        start_after: Key | None,
        rv: int,
    ) -> Page:
        """One page of matching objects in (namespace, name) order, with its continue token."""
        coll = self._objects.get(storage_key, {})
        keys = self._sorted_keys(storage_key)
        lo, hi = 0, len(keys)
        if namespace:
            lo = bisect.bisect_left(keys, (namespace, ""))
            hi = bisect.bisect_right(keys, (namespace, _MAX_KEY))
        if start_after is not None:
            lo = max(lo, bisect.bisect_right(keys, start_after))
        items: list[Stored] = []
        index = lo
        selective = not (labels.empty and fields.empty)
        while index < hi and (limit <= 0 or len(items) < limit):
            stored = coll[keys[index]]
            index += 1
            if not selective or (labels.matches(stored.obj) and fields.matches(stored.obj)):
                items.append(stored)
        more = index < hi
        token = encode_continue(rv, keys[index - 1]) if more and items else ""
        remaining = (hi - index) if more and not selective else None
        return Page(items=items, resource_version=rv, continue_token=token, remaining=remaining)
