"""CacheReader: the Reader protocol served from shared informers, the way controller-runtime's client reads.

Reads never reach the API server: ``get`` and ``list`` look in the informer of the whole kind (created and
started on first use, then awaited until synced), filtering selectors client-side. Results are deep copies, so
they belong to the caller as the Reader contract says (controller-runtime copies too). The price of a cache read
is staleness: a reconciler must tolerate objects a few events behind, and ``get`` of a just-created object may
raise NotFoundError until its watch event arrives. ``SplitClient`` pairs cached reads with direct writes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from eni.runtime.cache.cache import InformerCache
from eni.runtime.cache.informer import SharedInformer
from eni.runtime.cache.store import NAMESPACE_INDEX
from eni.runtime.client.errors import ApiError, NotFoundError
from eni.runtime.client.interfaces import PatchType, Preconditions, PropagationPolicy, Reader, Writer
from eni.runtime.meta import Obj, ObjectKey, ResourceKind
from eni.runtime.selector import field_matcher, label_matcher


class CacheNotSyncedError(ApiError):
    """The informer behind a read has not completed its first list in time."""

    def __init__(self, kind: ResourceKind, timeout: float) -> None:
        super().__init__(503, "CacheNotSynced", f"the {kind.plural} cache did not sync within {timeout}s")


class CacheReader:
    """A Reader over an InformerCache. Thread-safe."""

    def __init__(self, cache: InformerCache, *, sync_timeout: float = 30.0) -> None:
        self._cache = cache
        self._sync_timeout = sync_timeout

    def _informer(self, kind: ResourceKind) -> SharedInformer:
        informer = self._cache.informer_for(kind)
        if not informer.has_synced() and not informer.wait_for_sync(self._sync_timeout):
            raise CacheNotSyncedError(kind, self._sync_timeout)
        return informer

    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        obj = self._informer(kind).get_by_key(str(key))
        if obj is None:
            raise NotFoundError(404, "NotFound", f'{kind.plural} "{key.name}" not found (in the cache)')
        return copy.deepcopy(obj)

    def list(
        self, kind: ResourceKind, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        try:
            labels_ok = label_matcher(label_selector)
            fields_ok = field_matcher(field_selector)
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e)) from e
        informer = self._informer(kind)
        candidates = informer.by_index(NAMESPACE_INDEX, namespace) if namespace else informer.list()
        return [
            copy.deepcopy(obj)
            for obj in candidates
            if labels_ok((obj.get("metadata") or {}).get("labels") or {}) and fields_ok(obj)
        ]


class SplitClient:
    """A Client whose reads go to one Reader (usually a CacheReader) and writes to a Writer (the API)."""

    def __init__(self, *, reader: Reader, writer: Writer) -> None:
        self.reader = reader
        self.writer = writer

    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        return self.reader.get(kind, key)

    def list(
        self, kind: ResourceKind, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        return self.reader.list(kind, namespace=namespace, label_selector=label_selector,
                                field_selector=field_selector)

    def create(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        return self.writer.create(kind, obj)

    def update(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        return self.writer.update(kind, obj)

    def update_status(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        return self.writer.update_status(kind, obj)

    def patch(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str = "",
    ) -> Obj:
        return self.writer.patch(kind, key, patch, patch_type=patch_type, subresource=subresource)

    def delete(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
    ) -> None:
        self.writer.delete(kind, key, propagation_policy=propagation_policy, preconditions=preconditions)
