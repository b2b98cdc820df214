"""What the agent knows of the cluster: its own NodeENIConfig and the pods bound to its node, from informers.

Why a view: the node loop, the IP GC, the status publisher and the device plugins each need one question
answered (the NEC's status and spec, the live pods, a pod's annotations, the device counts of eni-ip,
direct-eni and eip), and answering them from
the informers' caches costs no API call. The informers are field-selected (``metadata.name=<node>`` for the
NEC, ``spec.nodeName=<node>`` for pods) so the agent never holds the cluster's objects.

Must never: write to the API server; answer "no pods" while the pod informer has not synced (None instead,
so that GC does not collect blind); mutate a cached object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from eni.agent.deviceplugin import DeviceCounts
from eni.agent.directpool import DirectPool
from eni.agent.ledger import PodRef
from eni.agent.pool import IpState, PoolView
from eni.runtime.cache.informer import EventHandlerFuncs

__all__ = ["NodeView", "bound_pod_ips", "direct_eni_counts", "eip_counts", "eni_ip_counts"]


class _Informer(Protocol):
    def get_by_key(self, key: str) -> Mapping[str, Any] | None: ...
    def list(self) -> list[Any]: ...
    def has_synced(self) -> bool: ...
    def add_event_handler(self, handler: Any) -> object: ...


class NodeView:
    """Answers from the node's NEC informer and its pod informer."""

    def __init__(self, node_name: str, *, nec: _Informer, pods: _Informer) -> None:
        self._node_name = node_name
        self._nec = nec
        self._pods = pods

    def on_nec_change(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` (cheap, non-blocking: e.g. ``NodeLoop.wake``) whenever the NEC is added or deleted,
        or its spec or ipamd's part of the status changed (not for the echo of the agent's own report)."""
        def updated(old: Any, new: Any) -> None:
            if _acted_on(old) != _acted_on(new):
                callback()

        self._nec.add_event_handler(EventHandlerFuncs(
            on_add=lambda obj, initial: callback(),
            on_update=updated,
            on_delete=lambda obj: callback(),
        ))

    def nec(self) -> Mapping[str, Any] | None:
        return self._nec.get_by_key(self._node_name)

    def nec_status(self) -> Mapping[str, Any] | None:
        """The NEC's ``status`` ({} when it has none yet); None while the NEC does not exist."""
        nec = self.nec()
        if nec is None:
            return None
        status = nec.get("status")
        return status if isinstance(status, Mapping) else {}

    def nec_spec(self) -> Mapping[str, Any]:
        spec = (self.nec() or {}).get("spec")
        return spec if isinstance(spec, Mapping) else {}

    def nec_synced(self) -> bool:
        """Whether the NEC informer has listed once and the NEC exists."""
        return self._nec.has_synced() and self.nec() is not None

    def pod(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The pod as the informer caches it, or None when it is not (yet) there."""
        return self._pods.get_by_key(f"{namespace}/{name}")

    def live_pods(self) -> list[PodRef] | None:
        """The pods bound to this node that are not finished (their IPs may still be in use); None until synced."""
        if not self._pods.has_synced():
            return None
        pods = []
        for pod in self._pods.list():
            meta = pod.get("metadata") or {}
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                continue  # NB: the kubelet tears a finished pod's sandbox down; its IP is garbage once DEL is missed
            pods.append(PodRef(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
                               uid=str(meta.get("uid", ""))))
        return pods


def _acted_on(nec: Any) -> tuple[object, object, object]:
    """What the agent acts on in a NEC: its spec, ipamd's part of its status, and whether it is being deleted."""
    if not isinstance(nec, Mapping):
        return (None, None, None)
    status = nec.get("status") or {}
    ipamd_part = {k: v for k, v in status.items() if k != "agent"} if isinstance(status, Mapping) else status
    return (nec.get("spec"), ipamd_part, (nec.get("metadata") or {}).get("deletionTimestamp"))


def bound_pod_ips(pool: PoolView) -> int:
    """Secondary IPs in state Bound on the shared ENIs: what pods can get right now (used or not)."""
    return sum(1 for eni in pool.enis if eni.shared
               for ip, state in eni.ips.items() if state is IpState.BOUND and ip != eni.primary_ip)


def eni_ip_counts(spec: Mapping[str, Any], pool: PoolView, *, static_ips: bool = False) -> DeviceCounts:
    """The eni-ip device counts: capacity = the node's max bindable IPs (``maxENI`` x ``maxIPPerENI`` of the
    NEC spec), healthy = IPs actually bound. Without limits in the spec yet, capacity is what is bound.

    ``static_ips`` (ipamd in static-IP mode): IPs are bound per pod only once it is bound to the node, so every
    bindable IP counts as healthy; whether the pod's subnet has one left is the ip-scheduler extender's call.
    """
    bound = bound_pod_ips(pool)
    limit = _count(spec.get("maxENI")) * _count(spec.get("maxIPPerENI"))
    capacity = limit or bound
    return DeviceCounts.clamped(capacity=capacity, healthy=capacity if static_ips else bound)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def direct_eni_counts(spec: Mapping[str, Any], pool: DirectPool, *, static_ips: bool = False) -> DeviceCounts:
    """The direct-eni device counts: capacity = ``maxDirectENI`` of the NEC spec, healthy = the exclusive ENIs
    attached to the node. Without a limit in the spec yet, capacity is what is attached.

    ``static_ips``: ipamd attaches a pod's exclusive ENI only once the pod is bound to the node, so all are healthy.
    """
    attached = len(pool.enis)
    capacity = _count(spec.get("maxDirectENI")) or attached
    return DeviceCounts.clamped(capacity=capacity, healthy=capacity if static_ips else attached)


def eip_counts(spec: Mapping[str, Any]) -> DeviceCounts:
    """The eip device counts: capacity = healthy = ``eipQuota`` of the NEC spec (the instance's quota minus one)."""
    quota = _count(spec.get("eipQuota"))
    return DeviceCounts.clamped(capacity=quota, healthy=quota)
