"""FakeClient: an in-memory Client with the API server's write semantics, for reconciler unit tests.

It keeps resourceVersion (one global counter), uid, creationTimestamp and generation (bumped when ``spec``
changes); rejects stale writes with ConflictError, duplicate creates with AlreadyExistsError; separates status
(``update`` keeps the stored status, ``update_status`` changes only status); honours finalizers on delete (sets
deletionTimestamp) and delete preconditions. Merge and JSON patches are exact; a strategic merge patch is
applied as a merge patch (lists replaced), which is enough for the fields reconcilers patch. Propagation policy
is accepted but dependents are not garbage-collected. ``intercept`` injects errors (controller-runtime's
interceptor). Objects in and out are deep copies: tests cannot corrupt the store by accident.
"""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eni.runtime.client.errors import AlreadyExistsError, ApiError, ConflictError, InvalidError, NotFoundError
from eni.runtime.client.interfaces import PatchType, Preconditions, PropagationPolicy
from eni.runtime.meta import Obj, ObjectKey, ResourceKind, key_of
from eni.runtime.selector import field_matcher, label_matcher

Interceptor = Callable[[str, ResourceKind, ObjectKey], None]
"""Called before each verb ("get", "list", "create", "update", "update_status", "patch", "delete") with the
kind and key (empty key for list); raising makes the call fail with that error."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch.

    >>> merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}})
    {'a': 1, 'b': {'d': 3}}
    """
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Sequence[Mapping[str, Any]]) -> Any:
    """RFC 6902 add/remove/replace/test on a deep copy; bad operations raise InvalidError."""
    doc = copy.deepcopy(target)
    for op in operations:
        path = [p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path", "")).split("/")[1:]]
        if not path:
            raise InvalidError(422, "Invalid", "a JSON patch path must not be empty")
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            last = path[-1]
            kind = op.get("op")
            if kind == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent[last]
                if current != op.get("value"):
                    raise InvalidError(422, "Invalid", f"test failed at {op.get('path')}")
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(index, op.get("value"))
                    else:
                        parent[index] = op.get("value")
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op.get("value")
            else:
                raise InvalidError(422, "Invalid", f"unsupported JSON patch op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise InvalidError(422, "Invalid", f"JSON patch failed at {op.get('path')}: {e}") from e
    return doc


class FakeClient:
    """An in-memory implementation of ``eni.runtime.client.Client``. Thread-safe."""

    def __init__(self, *, now: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[ResourceKind, ObjectKey], Obj] = {}
        self._versions = itertools.count(1)
        self._now = now or (lambda: datetime.now(UTC))
        self._interceptors: list[Interceptor] = []
        self.actions: list[tuple[str, str, ObjectKey]] = []
        """Every call as (verb, kind, key), for tests that need to know whether a write happened."""

    def intercept(self, interceptor: Interceptor) -> None:
        self._interceptors.append(interceptor)

    def _before(self, verb: str, kind: ResourceKind, key: ObjectKey) -> None:
        self.actions.append((verb, kind.kind, key))
        for interceptor in self._interceptors:
            interceptor(verb, kind, key)

    def objects(self, kind: ResourceKind) -> list[Obj]:
        """Every stored object of ``kind`` (copies), for assertions."""
        with self._lock:
            return [copy.deepcopy(o) for (k, _), o in sorted(self._objects.items(), key=lambda i: i[0][1]) if k == kind]

    # -- Reader --------------------------------------------------------------------------------------------
    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        with self._lock:
            self._before("get", kind, key)
            return copy.deepcopy(self._stored(kind, key))

    def list(
        self, kind: ResourceKind, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        with self._lock:
            self._before("list", kind, ObjectKey(namespace, ""))
            try:
                labels_ok = label_matcher(label_selector)
                fields_ok = field_matcher(field_selector)
            except ValueError as e:
                raise ApiError(400, "BadRequest", str(e)) from e
            return [
                copy.deepcopy(obj)
                for (k, key), obj in sorted(self._objects.items(), key=lambda i: i[0][1])
                if k == kind
                and (not namespace or key.namespace == namespace)
                and labels_ok((obj.get("metadata") or {}).get("labels") or {})
                and fields_ok(obj)
            ]

    # -- Writer --------------------------------------------------------------------------------------------
    def create(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        new = copy.deepcopy(dict(obj))
        metadata = new.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        key = key_of(new)
        with self._lock:
            self._before("create", kind, key)
            self._validate_key(kind, key)
            if (kind, key) in self._objects:
                raise AlreadyExistsError(409, "AlreadyExists", f'{kind.plural} "{key.name}" already exists')
            new.update(apiVersion=kind.api_version, kind=kind.kind)
            metadata.update(
                uid=str(uuid.uuid4()),
                creationTimestamp=self._now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                generation=1,
                resourceVersion=str(next(self._versions)),
            )
            metadata.pop("deletionTimestamp", None)
            self._objects[(kind, key)] = new
            return copy.deepcopy(new)

    def update(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        return self._replace("update", kind, obj, status_only=False)

    def update_status(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        return self._replace("update_status", kind, obj, status_only=True)

    def patch(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str = "",
    ) -> Obj:
        with self._lock:
            self._before("patch", kind, key)
            current = self._stored(kind, key)
            if patch_type is PatchType.JSON:
                if not isinstance(patch, Sequence):
                    raise InvalidError(422, "Invalid", "a JSON patch is a list")
                patched = json_patch(current, patch)
            else:
                if not isinstance(patch, Mapping):
                    raise InvalidError(422, "Invalid", "a merge patch is an object")
                version = (patch.get("metadata") or {}).get("resourceVersion")
                if version is not None and version != current["metadata"]["resourceVersion"]:
                    raise ConflictError(409, "Conflict", "the object has been modified")
                patched = merge_patch(current, patch)
            return self._store(kind, key, current, patched, status_only=subresource == "status")

    def delete(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
    ) -> None:
        with self._lock:
            self._before("delete", kind, key)
            current = self._stored(kind, key)
            metadata = current["metadata"]
            if preconditions is not None:
                if preconditions.uid is not None and preconditions.uid != metadata.get("uid"):
                    raise ConflictError(409, "Conflict", "precondition failed: uid")
                if preconditions.resource_version is not None and preconditions.resource_version != metadata.get(
                    "resourceVersion"
                ):
                    raise ConflictError(409, "Conflict", "precondition failed: resourceVersion")
            if metadata.get("finalizers"):
                if not metadata.get("deletionTimestamp"):
                    marked = copy.deepcopy(current)
                    marked["metadata"]["deletionTimestamp"] = self._now().strftime("%Y-%m-%dT%H:%M:%SZ")
                    marked["metadata"]["resourceVersion"] = str(next(self._versions))
                    self._objects[(kind, key)] = marked
                return
            del self._objects[(kind, key)]

    # -- internals -----------------------------------------------------------------------------------------
    def _stored(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        try:
            return self._objects[(kind, key)]
        except KeyError:
            raise NotFoundError(404, "NotFound", f'{kind.plural} "{key.name}" not found') from None

    @staticmethod
    def _validate_key(kind: ResourceKind, key: ObjectKey) -> None:
        if not key.name:
            raise InvalidError(422, "Invalid", "metadata.name: Required value")
        if kind.namespaced != bool(key.namespace):
            rule = "required" if kind.namespaced else "forbidden"
            raise InvalidError(422, "Invalid", f"metadata.namespace is {rule} for {kind.plural}")

    def _replace(self, verb: str, kind: ResourceKind, obj: Mapping[str, Any], *, status_only: bool) -> Obj:
        key = key_of(obj)
        with self._lock:
            self._before(verb, kind, key)
            current = self._stored(kind, key)
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version and version != current["metadata"]["resourceVersion"]:
                raise ConflictError(409, "Conflict", "the object has been modified; please apply your changes to "
                                                     "the latest version and try again")
            return self._store(kind, key, current, copy.deepcopy(dict(obj)), status_only=status_only)

    def _store(self, kind: ResourceKind, key: ObjectKey, current: Obj, desired: Obj, *, status_only: bool) -> Obj:
        if status_only:
            new = copy.deepcopy(current)
            if "status" in desired:
                new["status"] = desired["status"]
            else:
                new.pop("status", None)
        else:
            new = desired
            if "status" in current:
                new["status"] = copy.deepcopy(current["status"])
            else:
                new.pop("status", None)
            metadata = new.setdefault("metadata", {})
            for immutable in ("uid", "creationTimestamp", "namespace", "name", "generation", "deletionTimestamp"):
                if immutable in current["metadata"]:
                    metadata[immutable] = current["metadata"][immutable]
                else:
                    metadata.pop(immutable, None)
            if new.get("spec") != current.get("spec"):
                metadata["generation"] = int(current["metadata"].get("generation") or 0) + 1
        new.update(apiVersion=kind.api_version, kind=kind.kind)
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if new == current:
            return copy.deepcopy(current)  # a no-op write keeps the version, as the API server does
        new["metadata"]["resourceVersion"] = str(next(self._versions))
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            del self._objects[(kind, key)]
            return copy.deepcopy(new)
        self._objects[(kind, key)] = new
        return copy.deepcopy(new)
