"""The garbage collector and namespace finalizer: a background thread, like kube-controller-manager's.

It is told which uids to look at (an object was deleted or marked for deletion, or an owner
reference was added) and settles each one:

* owner gone: dependents with no other live owner are deleted (background propagation);
  references to the missing owner are removed from dependents that keep another owner;
* owner marked with ``foregroundDeletion``: dependents are deleted first, then the finalizer is
  removed (which deletes the owner);
* owner marked with ``orphan``: the owner reference is removed from every dependent, then the
  finalizer;
* a terminating namespace: its contents are deleted, then the namespace.

It only goes through the store's public operations, so every change it makes is an ordinary,
watchable API change. A failure on one uid is logged and never stops the thread.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
from typing import Any

from . import errors
from .index import Stored, owner_uids
from .store import Store

log = logging.getLogger(__name__)


class GarbageCollector:
    """Settles ownership and namespace deletion for uids handed to :meth:`enqueue`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def enqueue(self, uid: str) -> None:
        self._idle.clear()
        self._queue.put(uid)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fake-apiserver-gc", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put("")
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued uid has been settled (tests and persistence use it)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                uid = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._idle.set()
                continue
            if uid:
                try:
                    self.settle(uid)
                except Exception:  # the collector must outlive any one bad object
                    log.exception("Garbage collection failed", extra={"uid": uid})
            if self._queue.empty():
                self._idle.set()

    def settle(self, uid: str) -> None:
        found = self._store.by_uid(uid)
        if found is None:
            self._collect_orphans_of(uid)
            return
        _, owner = found
        meta = owner.obj["metadata"]
        if not meta.get("deletionTimestamp"):
            return
        finalizers = meta.get("finalizers") or []
        if owner.obj.get("kind") == "Namespace" and owner.obj.get("apiVersion") == "v1":
            self._terminate_namespace(meta["name"])
        elif "foregroundDeletion" in finalizers:
            self._delete_dependents_first(owner)
        elif "orphan" in finalizers:
            self._orphan_dependents(owner)

    def _collect_orphans_of(self, owner_uid: str) -> None:
        for storage_key, dependent in self._store.dependents(owner_uid):
            alive = [u for u in owner_uids(dependent.obj) if u != owner_uid and self._store.by_uid(u) is not None]
            if alive:
                self._drop_owner_reference(storage_key, dependent, owner_uid)
            else:
                self._delete(storage_key, dependent, propagation="Background")

    def _delete_dependents_first(self, owner: Stored) -> None:
        uid = owner.obj["metadata"]["uid"]
        remaining = self._store.dependents(uid)
        for storage_key, dependent in remaining:
            self._delete(storage_key, dependent, propagation="Foreground")
        if not self._store.dependents(uid):
            self._remove_finalizer(owner, "foregroundDeletion")

    def _orphan_dependents(self, owner: Stored) -> None:
        uid = owner.obj["metadata"]["uid"]
        for storage_key, dependent in self._store.dependents(uid):
            self._drop_owner_reference(storage_key, dependent, uid)
        self._remove_finalizer(owner, "orphan")

    def _terminate_namespace(self, name: str) -> None:
        for storage_key, key in self._store.keys_in_namespace(name):
            rt = self._store.registry.storage_type(storage_key)
            if rt is None:
                continue
            try:
                self._store.delete(rt, key[0], key[1])
            except errors.StatusError as e:
                if e.code != 404:
                    raise
        self._store.finalize_namespace(name)

    def _delete(self, storage_key: str, dependent: Stored, *, propagation: str) -> None:
        rt = self._store.registry.storage_type(storage_key)
        if rt is None:
            return
        meta = dependent.obj["metadata"]
        try:
            self._store.delete(
                rt, meta.get("namespace", ""), meta["name"], propagation=propagation, preconditions={"uid": meta["uid"]}
            )
        except errors.StatusError as e:
            if e.code not in (404, 409):
                raise

    def _drop_owner_reference(self, storage_key: str, dependent: Stored, owner_uid: str) -> None:
        def without_owner(obj: dict[str, Any]) -> dict[str, Any]:
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
            if refs:
                obj["metadata"]["ownerReferences"] = refs
            else:
                obj["metadata"].pop("ownerReferences", None)
            return obj

        self._update(storage_key, dependent, without_owner)

    def _remove_finalizer(self, owner: Stored, finalizer: str) -> None:
        def without_finalizer(obj: dict[str, Any]) -> dict[str, Any]:
            obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
            return obj

        found = self._store.by_uid(owner.obj["metadata"]["uid"])
        if found is not None:
            self._update(found[0], found[1], without_finalizer)

    def _update(self, storage_key: str, target: Stored, change: Any) -> None:
        rt = self._store.registry.storage_type(storage_key)
        if rt is None:
            return
        meta = target.obj["metadata"]
        try:
            self._store.update(rt, meta.get("namespace", ""), meta["name"], lambda cur: change(copy.deepcopy(cur)))
        except errors.StatusError as e:
            if e.code != 404:
                raise
