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

import copy
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import crd as crds
from . import errors
from .admission import (
    IMMUTABLE_META,
    check_finalizers_while_deleting,
    is_crd,
    merge_with_current,
    normalize,
    subject,
    validate,
)
from .defaults import ClusterIPAllocator, prepare_create, prepare_write, same_content, spec_changed
from .index import ObjectIndex, Page, Stored, dumps
from .kinds import Registry, ResourceType
from .paging import Key
from .selectors import FieldSelector, LabelSelector
from .watch import Event, Watcher, WatchHub

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def rfc3339(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


class Store:
    """All objects, the resourceVersion counter and the watch hub."""

    def __init__(self, registry: Registry, *, history_size: int, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self.hub = WatchHub(history_size=history_size)
        self._clock = clock
        self._rv = 0
        self._index = ObjectIndex()
        self._cluster_ips = ClusterIPAllocator()
        self.changes = 0  # commits since start; persistence compares it
        self.graceful_pods = False  # bound pods wait for their kubelet's grace-0 delete, as on a real cluster
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
            found = self._index.get(rt.storage_key, (namespace, name))
        if found is None:
            raise errors.not_found(subject(rt, name))
        return found

    def by_uid(self, uid: str) -> tuple[str, Stored] | None:
        with self.lock:
            return self._index.by_uid(uid)

    def dependents(self, owner_uid: str) -> list[tuple[str, Stored]]:
        with self.lock:
            return self._index.dependents(owner_uid)

    def keys_in_namespace(self, namespace: str) -> list[tuple[str, Key]]:
        with self.lock:
            return self._index.keys_in_namespace(namespace)

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
            if rt.namespaced and not namespace:
                namespace = fields.exact_value("metadata.namespace") or ""
            rv = snapshot_rv if snapshot_rv is not None else self._rv
            return self._index.page(
                rt.storage_key, namespace, labels=labels, fields=fields, limit=limit, start_after=start_after, rv=rv
            )

    def watch(
        self, rt: ResourceType, namespace: str, *, labels: LabelSelector, fields: FieldSelector, since: int | None
    ) -> tuple[Watcher, list[Stored], int]:
        """Open a stream; with ``since`` None also return the current matching objects to send first."""
        watcher = Watcher(storage_key=rt.storage_key, namespace=namespace, labels=labels, fields=fields)
        with self.lock:
            initial: list[Stored] = []
            if since is None:
                initial = [s for s in self._index.in_order(rt.storage_key) if watcher.matches(s.key[0], s.obj)]
            self.hub.register(watcher, since=since)
            return watcher, initial, self._rv

    # --- commits (caller holds the lock) -------------------------------------------------------

    def _commit(self, rt: ResourceType, obj: dict[str, Any], *, event_type: str, old: Stored | None) -> Stored:
        self._rv += 1
        self.changes += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        stored = Stored(obj=obj, raw=dumps(obj))
        for uid in self._index.put(rt.storage_key, stored, old):
            self.gc_notify(uid)
        previous = old.obj if old is not None else None
        self.hub.publish(Event(event_type, self._rv, rt.storage_key, stored.key[0], obj, stored.raw, previous))
        return stored

    def _remove(self, rt: ResourceType, obj: dict[str, Any]) -> Stored:
        self._rv += 1
        self.changes += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        stored = Stored(obj=obj, raw=dumps(obj))
        for uid in self._index.remove(rt.storage_key, stored):
            self.gc_notify(uid)
        self.hub.publish(Event("DELETED", self._rv, rt.storage_key, stored.key[0], obj, stored.raw))
        self.gc_notify(meta["uid"])
        if is_crd(rt):
            self._drop_custom_resource(crds.storage_key(obj))
        return stored

    def _drop_custom_resource(self, storage_key: str) -> None:
        served = self.registry.storage_type(storage_key)
        if served is not None:
            for stored in sorted(self._index.in_order(storage_key), key=lambda s: s.rv):
                self._remove(served, copy.deepcopy(stored.obj))
        self.registry.replace_custom(storage_key, [])

    # --- writes ---------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: dict[str, Any], *, dry_run: bool = False) -> Stored:
        obj, causes = normalize(rt, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            meta["name"] = meta["generateName"] + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))
        for field in IMMUTABLE_META + ("resourceVersion", "managedFields", "selfLink"):
            meta.pop(field, None)
        obj = validate(rt, obj, causes)
        meta = obj["metadata"]
        with self.lock:
            if rt.namespaced:
                self._check_namespace(namespace)
            if self._index.get(rt.storage_key, (namespace, meta["name"])) is not None:
                raise errors.already_exists(subject(rt, meta["name"]))
            now = self.now()
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            meta["generation"] = 1
            obj = prepare_create(rt, obj, now=now, cluster_ips=self._cluster_ips)
            if is_crd(rt):
                self._check_crd_free(obj)
            if dry_run:
                return Stored(obj=obj, raw=dumps(obj))
            stored = self._commit(rt, obj, event_type="ADDED", old=None)
            if is_crd(rt):
                self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            return stored

    def _check_namespace(self, namespace: str) -> None:
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        found = self._index.get(ns_type.storage_key, ("", namespace))
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
            obj, causes = normalize(rt, namespace, proposed)
            meta = obj["metadata"]
            if meta.get("name") not in (None, name):
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv not in (None, "") and str(wanted_rv) != current.obj["metadata"]["resourceVersion"]:
                raise errors.conflict(subject(rt, name), errors.STALE_OBJECT)
            obj = merge_with_current(rt, current.obj, obj, subresource=subresource)
            obj = prepare_write(rt, obj)
            obj = validate(rt, obj, causes)
            check_finalizers_while_deleting(rt, current.obj, obj)
            if spec_changed(current.obj, obj):
                obj["metadata"]["generation"] = int(current.obj["metadata"].get("generation", 1)) + 1
            if is_crd(rt):
                if subresource != "status":
                    obj = crds.with_status(obj, self.now(), previous=current.obj.get("status"))
            if same_content(current.obj, obj) or dry_run:
                return current if not dry_run else Stored(obj=obj, raw=dumps(obj))
            meta = obj["metadata"]
            if (
                meta.get("deletionTimestamp")
                and not meta.get("finalizers")
                and not meta.get("deletionGracePeriodSeconds")
            ):
                if not (rt.builtin and rt.kind == "Namespace"):
                    return self._remove(rt, obj)
            stored = self._commit(rt, obj, event_type="MODIFIED", old=current)
            if is_crd(rt):
                self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            return stored

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str = "Background",
        preconditions: dict[str, Any] | None = None,
        grace_period: int | None = None,
        dry_run: bool = False,
    ) -> tuple[Stored, bool]:
        """Delete, or only mark for deletion while finalizers or a pod's grace period remain; returns (object, gone)."""
        with self.lock:
            current = self.get(rt, namespace, name)
            meta = current.obj["metadata"]
            self._check_preconditions(rt, current, preconditions or {})
            if rt.builtin and rt.kind == "Namespace" and name in IMMORTAL_NAMESPACES:
                raise errors.forbidden(subject(rt, name), "this namespace may not be deleted")
            grace = self._grace_period(rt, current.obj, grace_period)
            obj = copy.deepcopy(current.obj)
            finalizers = list(meta.get("finalizers") or [])
            if meta.get("deletionTimestamp"):
                if grace != 0 or meta.get("deletionGracePeriodSeconds", 0) == 0 or dry_run:
                    return current, False
                obj["metadata"]["deletionGracePeriodSeconds"] = 0  # the kubelet confirms a graceful delete
                if not finalizers:
                    return self._remove(rt, obj), True
                return self._commit(rt, obj, event_type="MODIFIED", old=current), False
            has_dependents = bool(self._index.dependents(meta["uid"]))
            if propagation == "Foreground" and has_dependents and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if propagation == "Orphan" and has_dependents and "orphan" not in finalizers:
                finalizers.append("orphan")
            if dry_run:
                return current, not finalizers and not grace
            if not finalizers and not grace and not (rt.builtin and rt.kind == "Namespace"):
                return self._remove(rt, obj), True
            obj["metadata"]["deletionTimestamp"] = rfc3339(self._clock() + grace)
            obj["metadata"]["deletionGracePeriodSeconds"] = grace
            if finalizers:
                obj["metadata"]["finalizers"] = finalizers
            if rt.builtin and rt.kind == "Namespace":
                obj["status"] = {"phase": "Terminating"}
            stored = self._commit(rt, obj, event_type="MODIFIED", old=current)
            self.gc_notify(meta["uid"])
            return stored, False

    def _check_preconditions(self, rt: ResourceType, current: Stored, pre: dict[str, Any]) -> None:
        meta = current.obj["metadata"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            why = f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}"
            raise errors.conflict(subject(rt, meta["name"]), why)
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta["resourceVersion"]:
            why = (
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}"
            )
            raise errors.conflict(subject(rt, meta["name"]), why)

    def _grace_period(self, rt: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
        """Seconds a deletion waits for its kubelet: only bound pods, and only when graceful deletion is on."""
        spec = obj.get("spec") or {}
        if not (self.graceful_pods and rt.builtin and rt.kind == "Pod" and spec.get("nodeName")):
            return 0
        if requested is not None:
            return max(0, requested)
        return max(0, int(spec.get("terminationGracePeriodSeconds", 30) or 0))

    def finalize_namespace(self, name: str) -> bool:
        """Remove a terminating namespace once it is empty and has no finalizers left."""
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        with self.lock:
            found = self._index.get(ns_type.storage_key, ("", name))
            if found is None or not found.obj["metadata"].get("deletionTimestamp"):
                return False
            if found.obj["metadata"].get("finalizers") or self.keys_in_namespace(name):
                return False
            self._remove(ns_type, copy.deepcopy(found.obj))
            return True

    # --- persistence ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            objects = self._index.all_objects()
            return {
                "resourceVersion": self._rv,
                "objects": sorted(objects, key=lambda o: int(o["metadata"]["resourceVersion"])),
            }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a snapshot into an empty store: CRDs first so their resources are served."""
        with self.lock:
            objects = data.get("objects") or []
            for obj in objects:
                if obj.get("kind") == "CustomResourceDefinition":
                    self.registry.replace_custom(crds.storage_key(obj), crds.resource_types(obj))
            for obj in objects:
                rt = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
                if rt is not None:
                    for uid in self._index.put(rt.storage_key, Stored(obj=obj, raw=dumps(obj)), None):
                        self.gc_notify(uid)
            self._rv = max(int(data.get("resourceVersion", 0)), self._rv)
            self.hub.current_rv = self.hub.compacted_rv = self._rv
