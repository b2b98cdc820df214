"""KubeClient: reads and writes of any ResourceKind over HTTP, with typed errors and a client-side rate limit.

It speaks to the API server through a ``KubeTransport`` (over the official client's ApiClient or the standard
library) and keeps objects as plain dicts. A token bucket (default 50 qps, burst 100, like a tuned client-go)
paces every request so a reconcile storm cannot flood the API server. It never retries on its own: conflicts are for
``retry_on_conflict``/``mutate_with_retry``, other failures for the work queue's backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eni.runtime.client.errors import ApiError
from eni.runtime.client.interfaces import PatchType, Preconditions, PropagationPolicy
from eni.runtime.client.retry import mutate_with_retry
from eni.runtime.client.transport import DEFAULT_TIMEOUT, KubeTransport
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import Obj, ObjectKey, ResourceKind, key_of
from eni.runtime.tokenbucket import TokenBucket

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

_NEVER = threading.Event()


class KubeClient:
    """The Client (Reader + Writer) implementation over a Kubernetes API server. Thread-safe."""

    def __init__(
        self,
        transport: KubeTransport,
        *,
        qps: float = 50.0,
        burst: int = 100,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self.transport = transport
        self._clock = clock
        self._bucket = TokenBucket(qps=qps, burst=burst, clock=clock)

    @classmethod
    def from_api_client(
        cls, api_client: ApiClient, *, qps: float = 50.0, burst: int = 100, timeout: float = DEFAULT_TIMEOUT
    ) -> KubeClient:
        return cls(KubeTransport(api_client, timeout=timeout), qps=qps, burst=burst)

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        delay = self._bucket.reserve()
        if delay > 0:
            self._clock.wait(_NEVER, delay)
        return self.transport.request(method, path, query=query, body=body, content_type=content_type)

    @staticmethod
    def _object(answer: Any, what: str) -> Obj:
        if not isinstance(answer, dict):
            raise ApiError(0, "BadResponse", f"{what}: the server did not return an object")
        return answer

    # -- Reader --------------------------------------------------------------------------------------------
    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        return self._object(self._call("GET", kind.object_path(key.name, key.namespace)), f"get {kind.kind}")

    def list(
        self, kind: ResourceKind, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        answer = self._object(self._call("GET", kind.collection_path(namespace), query=query), f"list {kind.plural}")
        items = answer.get("items") or []
        if not isinstance(items, list):
            raise ApiError(0, "BadResponse", f"list {kind.plural}: items is not a list")
        return items

    # -- Writer --------------------------------------------------------------------------------------------
    def create(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        namespace = key_of(obj).namespace
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        return self._object(self._call("POST", kind.collection_path(namespace), body=body), f"create {kind.kind}")

    def update(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        key = key_of(obj)
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        path = kind.object_path(key.name, key.namespace)
        return self._object(self._call("PUT", path, body=body), f"update {kind.kind}")

    def update_status(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        key = key_of(obj)
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        path = kind.object_path(key.name, key.namespace) + "/status"
        return self._object(self._call("PUT", path, body=body), f"update {kind.kind} status")

    def patch(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str = "",
    ) -> Obj:
        if (patch_type is PatchType.JSON) != isinstance(patch, Sequence):
            raise ValueError("a JSON patch is a list of operations; merge and strategic patches are objects")
        path = kind.object_path(key.name, key.namespace) + (f"/{subresource}" if subresource else "")
        body = list(patch) if isinstance(patch, Sequence) else dict(patch)
        answer = self._call("PATCH", path, body=body, content_type=patch_type.value)
        return self._object(answer, f"patch {kind.kind}")

    def delete(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
    ) -> None:
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy.value
        if preconditions is not None:
            options["preconditions"] = {
                k: v
                for k, v in (("uid", preconditions.uid), ("resourceVersion", preconditions.resource_version))
                if v is not None
            }
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        self._call("DELETE", kind.object_path(key.name, key.namespace), body=options)

    # -- helpers -------------------------------------------------------------------------------------------
    def mutate_with_retry(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        mutate: Callable[[Obj], None],
        *,
        status: bool = False,
    ) -> Obj:
        """See ``eni.runtime.client.retry.mutate_with_retry``."""
        return mutate_with_retry(self, kind, key, mutate, status=status, clock=self._clock)
