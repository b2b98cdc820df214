"""Versioned object storage: the one place state changes.

Objects live per resource (``storage_key``) keyed by (namespace, name), each next to its
pre-serialized JSON so lists and watches of many objects only join bytes. One lock guards all of
it and one global resourceVersion counter orders every change; each commit publishes its watch
event before the lock is released. The store enforces the API semantics that need the old state
(optimistic concurrency, immutable metadata, status/main separation, generation, finalizers,
no-op updates) and keeps the uid and owner indexes the garbage collector walks. It never does
I/O and never calls back into HTTP code.
"""

from __future__ import annotations

import bisect
import copy
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import crd as crds
from . import errors
from .defaults import ClusterIPAllocator, prepare_create, same_content, spec_changed
from .kinds import Registry, ResourceType
from .schema import validate_and_prune
from .selectors import FieldSelector, LabelSelector
from .validation import validate_builtin, validate_metadata, validate_type_meta
from .watch import Event, Watcher, WatchHub

Key = tuple[str, str]  # (namespace, name)
_MAX_KEY = "\U0010ffff"
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def rfc3339(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


@dataclass(frozen=True, slots=True)
class Stored:
    """A committed object and its JSON; both are shared and must never be mutated."""

    obj: dict[str, Any]
    raw: bytes

    @property
    def rv(self) -> int:
        return int(self.obj["metadata"]["resourceVersion"])


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Stored]
    resource_version: int
    continue_token: str
    remaining: int | None


def subject(rt: ResourceType, name: str) -> errors.Subject:
    return errors.Subject(resource=rt.plural, group=rt.group, kind=rt.kind, name=name)


def owner_uids(obj: dict[str, Any]) -> set[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {str(r.get("uid")) for r in refs if isinstance(r, dict) and r.get("uid")}


class Store:
    """All objects, the resourceVersion counter and the watch hub."""

    def __init__(self, registry: Registry, *, history_size: int, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self.hub = WatchHub(history_size=history_size)
        self._clock = clock
        self._rv = 0
        self._objects: dict[str, dict[Key, Stored]] = {}
        self._sorted: dict[str, list[Key]] = {}
        self._uids: dict[str, tuple[str, Key]] = {}
        self._dependents: dict[str, set[tuple[str, Key]]] = {}
        self._cluster_ips = ClusterIPAllocator()
        self.changes = 0  # commits since start; persistence compares it
        self.gc_notify: Callable[[str], None] = lambda uid: None

    # --- reads -------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    def now(self) -> str:
        return rfc3339(self._clock())

    def get(self, rt: ResourceType, namespace: str, name: str) -> Stored:
        with self.lock:
            found = self._objects.get(rt.storage_key, {}).get((namespace, name))
        if found is None:
            raise errors.not_found(subject(rt, name))
        return found

    def by_uid(self, uid: str) -> tuple[str, Stored] | None:
        with self.lock:
            where = self._uids.get(uid)
            if where is None:
                return None
            return where[0], self._objects[where[0]][where[1]]

    def dependents(self, owner_uid: str) -> list[tuple[str, Stored]]:
        with self.lock:
            return [(sk, self._objects[sk][key]) for sk, key in self._dependents.get(owner_uid, set())]

    def keys_in_namespace(self, namespace: str) -> list[tuple[str, Key]]:
        with self.lock:
            return [(sk, key) for sk, coll in self._objects.items() for key in coll if key[0] == namespace]

    def _sorted_keys(self, storage_key: str) -> list[Key]:
        keys = self._sorted.get(storage_key)
        if keys is None:
            keys = sorted(self._objects.get(storage_key, {}))
            self._sorted[storage_key] = keys
        return keys

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str,
        *,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int = 0,
        start_after: Key | None = None,
        snapshot_rv: int | None = None,
    ) -> Page:
        """One page of matching objects in (namespace, name) order."""
        with self.lock:
            if snapshot_rv is not None and snapshot_rv < self.hub.compacted_rv:
                raise errors.StatusError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.",
                )
            coll = self._objects.get(rt.storage_key, {})
            keys = self._sorted_keys(rt.storage_key)
            lo, hi = 0, len(keys)
            namespace = namespace or (fields.exact_value("metadata.namespace") or "" if rt.namespaced else "")
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
            rv = snapshot_rv if snapshot_rv is not None else self._rv
            more = index < hi
            token = encode_continue(rv, keys[index - 1]) if more and items else ""
            remaining = (hi - index) if more and not selective else None
            return Page(items=items, resource_version=rv, continue_token=token, remaining=remaining)

    def watch(
        self, rt: ResourceType, namespace: str, *, labels: LabelSelector, fields: FieldSelector, since: int | None
    ) -> tuple[Watcher, list[Stored], int]:
        """Open a stream; with ``since`` None also return the current matching objects to send first."""
        watcher = Watcher(storage_key=rt.storage_key, namespace=namespace, labels=labels, fields=fields)
        with self.lock:
            initial: list[Stored] = []
            if since is None:
                for key in self._sorted_keys(rt.storage_key):
                    stored = self._objects[rt.storage_key][key]
                    if watcher.matches(key[0], stored.obj):
                        initial.append(stored)
            self.hub.register(watcher, since=since)
            return watcher, initial, self._rv

    # --- commits (caller holds the lock) -------------------------------------------------------

    def _commit(self, rt: ResourceType, obj: dict[str, Any], *, event_type: str, old: Stored | None) -> Stored:
        self._rv += 1
        self.changes += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        stored = Stored(obj=obj, raw=dumps(obj))
        sk = rt.storage_key
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        coll = self._objects.setdefault(sk, {})
        if key not in coll:
            self._sorted.pop(sk, None)
        coll[key] = stored
        self._uids[meta["uid"]] = (sk, key)
        before = owner_uids(old.obj) if old else set()
        after = owner_uids(obj)
        for uid in before - after:
            self._dependents.get(uid, set()).discard((sk, key))
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add((sk, key))
            self.gc_notify(uid)
        self.hub.publish(Event(event_type, self._rv, sk, key[0], obj, stored.raw, old.obj if old is not None else None))
        return stored

    def _remove(self, rt: ResourceType, obj: dict[str, Any]) -> Stored:
        self._rv += 1
        self.changes += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        key = (meta.get("namespace", ""), meta["name"])
        sk = rt.storage_key
        self._objects.get(sk, {}).pop(key, None)
        self._sorted.pop(sk, None)
        self._uids.pop(meta["uid"], None)
        for uid in owner_uids(obj):
            self._dependents.get(uid, set()).discard((sk, key))
            self.gc_notify(uid)
        stored = Stored(obj=obj, raw=dumps(obj))
        self.hub.publish(Event("DELETED", self._rv, sk, key[0], obj, stored.raw))
        self.gc_notify(meta["uid"])
        if rt.kind == "CustomResourceDefinition" and rt.builtin:
            self._drop_custom_resource(crds.storage_key(obj))
        return stored

    def _drop_custom_resource(self, storage_key: str) -> None:
        served = self.registry.storage_type(storage_key)
        if served is not None:
            for stored in sorted(self._objects.get(storage_key, {}).values(), key=lambda s: s.rv):
                self._remove(served, copy.deepcopy(stored.obj))
        self._objects.pop(storage_key, None)
        self.registry.replace_custom(storage_key, [])

    # --- writes ---------------------------------------------------------------------------------

    def _validate(self, rt: ResourceType, obj: dict[str, Any], causes: list[errors.Cause]) -> dict[str, Any]:
        if not rt.builtin:
            obj, schema_causes = validate_and_prune(obj, rt.schema)
            causes = causes + schema_causes
        causes = causes + validate_metadata(rt, obj) + validate_builtin(rt, obj)
        if rt.kind == "CustomResourceDefinition" and rt.builtin:
            causes = causes + crds.validate_crd(obj)
        if causes:
            raise errors.invalid(subject(rt, (obj.get("metadata") or {}).get("name") or ""), causes)
        return obj

    def _normalize(
        self, rt: ResourceType, namespace: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], list[errors.Cause]]:
        obj = copy.deepcopy(body)
        causes = validate_type_meta(rt, obj)
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.invalid(
                subject(rt, ""), [errors.Cause("FieldValueInvalid", "Invalid value: must be an object", "metadata")]
            )
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                why = f'Invalid value: "{meta["namespace"]}": does not match the namespace "{namespace}" of the request'
                causes.append(errors.Cause("FieldValueInvalid", why, "metadata.namespace"))
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj, causes

    def create(self, rt: ResourceType, namespace: str, body: dict[str, Any], *, dry_run: bool = False) -> Stored:
        obj, causes = self._normalize(rt, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            meta["name"] = meta["generateName"] + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))
        for field in _IMMUTABLE_META + ("resourceVersion", "managedFields", "selfLink"):
            meta.pop(field, None)
        obj = self._validate(rt, obj, causes)
        meta = obj["metadata"]
        with self.lock:
            if rt.namespaced:
                self._check_namespace(namespace)
            if (namespace, meta["name"]) in self._objects.get(rt.storage_key, {}):
                raise errors.already_exists(subject(rt, meta["name"]))
            now = self.now()
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            meta["generation"] = 1
            obj = prepare_create(rt, obj, now=now, cluster_ips=self._cluster_ips)
            if rt.kind == "CustomResourceDefinition" and rt.builtin:
                self._check_crd_free(obj)
            if dry_run:
                return Stored(obj=obj, raw=dumps(obj))
            stored = self._commit(rt, obj, event_type="ADDED", old=None)
            if rt.kind == "CustomResourceDefinition" and rt.builtin:
                self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            return stored

    def _check_namespace(self, namespace: str) -> None:
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        found = self._objects.get(ns_type.storage_key, {}).get(("", namespace))
        if found is None:
            raise errors.not_found(subject(ns_type, namespace))
        if found.obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                subject(ns_type, namespace),
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )

    def _check_crd_free(self, crd: dict[str, Any]) -> None:
        existing = self.registry.storage_type(crds.storage_key(crd))
        if existing is not None and existing.builtin:
            raise errors.invalid(
                subject(
                    self.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions") or existing,
                    crd["metadata"]["name"],
                ),
                [
                    errors.Cause(
                        "FieldValueInvalid", "Invalid value: conflicts with a built-in resource", "spec.names.plural"
                    )
                ],
            )

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Stored:
        """PUT (``body`` is the new object) or PATCH (``body`` maps the current object to the new one)."""
        with self.lock:
            current = self.get(rt, namespace, name)
            proposed = body(copy.deepcopy(current.obj)) if callable(body) else body
            if not isinstance(proposed, dict):
                raise errors.bad_request("the request body must be a JSON object")
            obj, causes = self._normalize(rt, namespace, proposed)
            meta = obj["metadata"]
            if meta.get("name") not in (None, name):
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv not in (None, "") and str(wanted_rv) != current.obj["metadata"]["resourceVersion"]:
                raise errors.conflict(subject(rt, name), errors.STALE_OBJECT)
            obj = self._merge_with_current(rt, current.obj, obj, subresource=subresource)
            obj = self._validate(rt, obj, causes)
            self._check_finalizers_while_deleting(rt, current.obj, obj)
            if spec_changed(current.obj, obj):
                obj["metadata"]["generation"] = int(current.obj["metadata"].get("generation", 1)) + 1
            if rt.kind == "CustomResourceDefinition" and rt.builtin:
                obj = crds.with_status(obj, self.now()) if subresource != "status" else obj
            if same_content(current.obj, obj) or dry_run:
                return current if not dry_run else Stored(obj=obj, raw=dumps(obj))
            if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
                if rt.kind != "Namespace":
                    return self._remove(rt, obj)
            stored = self._commit(rt, obj, event_type="MODIFIED", old=current)
            if rt.kind == "CustomResourceDefinition" and rt.builtin:
                self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            return stored

    def _merge_with_current(
        self, rt: ResourceType, current: dict[str, Any], obj: dict[str, Any], *, subresource: str
    ) -> dict[str, Any]:
        if subresource == "status":
            merged = copy.deepcopy(current)
            if "status" in obj:
                merged["status"] = obj["status"]
            else:
                merged.pop("status", None)
            return merged
        if rt.has_status:
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
            else:
                obj.pop("status", None)
        for field in _IMMUTABLE_META:
            if field in current["metadata"]:
                obj["metadata"][field] = current["metadata"][field]
            else:
                obj["metadata"].pop(field, None)
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return obj

    def _check_finalizers_while_deleting(self, rt: ResourceType, current: dict[str, Any], obj: dict[str, Any]) -> None:
        if not current["metadata"].get("deletionTimestamp"):
            return
        added = set(obj["metadata"].get("finalizers") or []) - set(current["metadata"].get("finalizers") or [])
        if added:
            why = (
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {sorted(added)}"
            )
            raise errors.invalid(
                subject(rt, current["metadata"]["name"]),
                [errors.Cause("FieldValueForbidden", why, "metadata.finalizers")],
            )

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str = "Background",
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Stored, bool]:
        """Delete, or only mark for deletion while finalizers remain; returns (object, gone)."""
        with self.lock:
            current = self.get(rt, namespace, name)
            meta = current.obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise errors.conflict(
                    subject(rt, name),
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}",
                )
            if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta["resourceVersion"]:
                raise errors.conflict(
                    subject(rt, name),
                    f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {meta['resourceVersion']}",
                )
            if meta.get("deletionTimestamp"):
                return current, False
            obj = copy.deepcopy(current.obj)
            finalizers = list(obj["metadata"].get("finalizers") or [])
            has_dependents = bool(self._dependents.get(meta["uid"]))
            if propagation == "Foreground" and has_dependents and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if propagation == "Orphan" and has_dependents and "orphan" not in finalizers:
                finalizers.append("orphan")
            if dry_run:
                return current, not finalizers
            if not finalizers and rt.kind != "Namespace":
                return self._remove(rt, obj), True
            obj["metadata"]["deletionTimestamp"] = self.now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            if finalizers:
                obj["metadata"]["finalizers"] = finalizers
            if rt.kind == "Namespace":
                obj["status"] = {"phase": "Terminating"}
            stored = self._commit(rt, obj, event_type="MODIFIED", old=current)
            self.gc_notify(meta["uid"])
            return stored, False

    def finalize_namespace(self, name: str) -> bool:
        """Remove a terminating namespace once it is empty and has no finalizers left."""
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        with self.lock:
            found = self._objects.get(ns_type.storage_key, {}).get(("", name))
            if found is None or not found.obj["metadata"].get("deletionTimestamp"):
                return False
            if found.obj["metadata"].get("finalizers") or self.keys_in_namespace(name):
                return False
            self._remove(ns_type, copy.deepcopy(found.obj))
            return True

    # --- persistence ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            objects = [s.obj for coll in self._objects.values() for s in coll.values()]
            return {
                "resourceVersion": self._rv,
                "objects": sorted(objects, key=lambda o: int(o["metadata"]["resourceVersion"])),
            }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a snapshot into an empty store: CRDs first so their resources are served."""
        with self.lock:
            objects = data.get("objects") or []
            crd_type = self.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            for obj in objects:
                if obj.get("kind") == "CustomResourceDefinition" and crd_type is not None:
                    self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            for obj in objects:
                rt = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
                if rt is None:
                    continue
                meta = obj["metadata"]
                key = (meta.get("namespace", ""), meta["name"])
                stored = Stored(obj=obj, raw=dumps(obj))
                self._objects.setdefault(rt.storage_key, {})[key] = stored
                self._uids[meta["uid"]] = (rt.storage_key, key)
                for uid in owner_uids(obj):
                    self._dependents.setdefault(uid, set()).add((rt.storage_key, key))
            self._sorted.clear()
            self._rv = max(int(data.get("resourceVersion", 0)), self._rv)
            self.hub.current_rv = self.hub.compacted_rv = self._rv


def encode_continue(rv: int, key: Key) -> str:
    import base64

    return base64.urlsafe_b64encode(dumps({"rv": rv, "ns": key[0], "name": key[1]})).decode()


def decode_continue(token: str) -> tuple[int, Key]:
    import base64
    import binascii

    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as e:
        raise errors.bad_request(f"continue key is not valid: {e}") from e
