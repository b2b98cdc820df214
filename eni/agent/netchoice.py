"""Choosing an attachment's kind at ADD: a shared-ENI IP or a whole exclusive ENI (``tke-direct-eni``).

Why here: the runtime's ADD carries the network config's ``name`` and the pod's namespace/name, not the pod's
annotations. A config named ``tke-direct-eni`` selects exclusive outright; otherwise the pod's
``tke.cloud.tencent.com/networks`` annotation decides, read from the agent's pod informer or, when the pod is not
in the cache yet, with one bounded GET. When the API server cannot be asked the answer is "try again later"
(``PodUnknownError``), never a guess; a pod that really does not exist gets a shared IP, as before. On nodes that
cannot hold exclusive ENIs only the cache is asked (no GET), so the shared-ENI ADD path pays a dictionary lookup.

Must never: talk to the API server itself (the lookup is injected), or decide on a failed lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from eni.agent.errors import InvalidRequestError, PodUnknownError
from eni.agent.pool import PodRef
from eni.api.v1.constants import NETWORK_DIRECT_ENI, parse_pod_network
from eni.api.v1.enums import NetworkName
from eni.api.v1.errors import AnnotationError

__all__ = ["PodLookup", "PodLookupError", "PodObjects", "wants_direct_eni"]


class PodLookupError(Exception):
    """The pod could not be read (API server unreachable, timed out, refused)."""


class PodLookup(Protocol):
    """The pod's annotations ({} when it has none), None when no such pod is known; raises ``PodLookupError``.

    ``fetch=False``: answer from what is cached only (None on a miss), never asking the API server.
    """

    def __call__(self, pod: PodRef, *, fetch: bool = True) -> Mapping[str, str] | None: ...


def wants_direct_eni(network_name: str, pod: PodRef, *, lookup: PodLookup | None, possible: bool) -> bool:
    """Whether the attachment gets a whole exclusive ENI; ``possible``: the node can hold exclusive ENIs at all
    (if not, an uncached pod is not fetched).

    Raises ``PodUnknownError`` when the pod cannot be read now and ``InvalidRequestError`` for a bad annotation.
    """
    if network_name == NETWORK_DIRECT_ENI:
        return True
    if not pod.name or lookup is None:
        return False
    try:
        # NB: a node without exclusive ENIs still refuses a cached exclusive pod a shared IP (it waits instead).
        annotations = lookup(pod, fetch=possible)
    except PodLookupError as e:
        raise PodUnknownError(f"cannot tell whether pod {pod} asks for an exclusive ENI: {e}") from e
    if annotations is None:
        return False
    try:
        return parse_pod_network(annotations) is NetworkName.DIRECT_ENI
    except AnnotationError as e:
        raise InvalidRequestError(f"pod {pod}: {e}") from e


class PodObjects:
    """A ``PodLookup`` over the pod informer's cache, falling back to ``fetch`` (one bounded GET) on a miss.

    ``cached(namespace, name)`` and ``fetch(namespace, name)`` return the pod object or None; ``fetch`` raises
    ``PodLookupError`` when the API server cannot answer. A cached pod of the same name but another uid is a
    predecessor: the fresh object is fetched instead.
    """

    def __init__(self, cached: Callable[[str, str], Mapping[str, Any] | None],
                 fetch: Callable[[str, str], Mapping[str, Any] | None] | None = None) -> None:
        self._cached = cached
        self._fetch = fetch

    def __call__(self, pod: PodRef, *, fetch: bool = True) -> Mapping[str, str] | None:
        obj = self._cached(pod.namespace, pod.name)
        if obj is not None and pod.uid and _uid(obj) and _uid(obj) != pod.uid:
            obj = None
        if obj is None and fetch and self._fetch is not None:
            obj = self._fetch(pod.namespace, pod.name)
        if obj is None:
            return None
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        return {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, Mapping) else {}


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")
