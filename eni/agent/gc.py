"""Garbage collection of pod IPs: allocations whose pod is gone from this node are released with their network.

Why this shape: a runtime that never calls DEL (a crash, a deleted node object, a lost sandbox) would leak
the IP and its veth, routes and rules forever. On a timer, every allocation whose pod is not among the pods
the informer sees on this node (``spec.nodeName`` field selector), and which is older than the grace
period, is torn down and released exactly as DEL would; then the kernel objects we own for IPs no longer
in use are removed. The grace period lets ADD work for a sandbox whose pod object is not visible yet.

Must never: collect while the pod list is unknown (informer not synced); collect an allocation without a pod
name (nothing to compare with); remove kernel state of an IP whose ADD is in flight (it runs exclusively).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from eni.agent.directledger import DirectAllocation
from eni.agent.errors import AgentError
from eni.agent.ledger import Allocation, PodRef
from eni.agent.service import AgentService, PodRequest
from eni.netlink.interfaces import NodeNetwork

__all__ = ["GcResult", "IpGarbageCollector", "DEFAULT_GRACE"]

log = logging.getLogger(__name__)

DEFAULT_GRACE = 60.0
_REAP_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class GcResult:
    released: tuple[Allocation | DirectAllocation, ...] = ()
    failed: tuple[Allocation | DirectAllocation, ...] = ()
    stale_objects_removed: int = 0
    enis_recovered: int = 0


class IpGarbageCollector:
    """One ``collect`` per GC interval; ``live_pods`` returns the pods on this node, or None while unknown."""

    def __init__(
        self,
        service: AgentService,
        node: NodeNetwork,
        live_pods: Callable[[], Collection[PodRef] | None],
        *,
        grace: float = DEFAULT_GRACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if grace < 0:
            raise ValueError("grace must not be negative")
        self._service = service
        self._node = node
        self._live_pods = live_pods
        self._grace = grace
        self._clock = clock

    def collect(self) -> GcResult:
        live = self._live_pods()
        if live is None:
            log.debug("Skipping IP GC: the pods of this node are not known yet")
            return GcResult()
        live_set = set(live)
        released: list[Allocation | DirectAllocation] = []
        failed: list[Allocation | DirectAllocation] = []
        for alloc in self._orphans(live_set):
            try:
                if self._service.delete(PodRequest(key=alloc.key)) is not None:
                    released.append(alloc)
            except AgentError:
                log.warning("IP GC could not release an allocation", exc_info=True,
                            extra={"ip": str(alloc.ip), "container": alloc.key.container_id})
                failed.append(alloc)
        if released:
            # NB: DEL leaves veths to a background worker; GC is not latency-bound, so its result includes them.
            self._service.reaper.wait_idle(_REAP_WAIT)
        with self._service.exclusive():
            removed = self._node.remove_stale(keep_pod_ips=self._service.ledger.in_use(),
                                              keep_tables=self._service.tables())
        recovered = self._recover()
        return GcResult(released=tuple(released), failed=tuple(failed), stale_objects_removed=removed,
                        enis_recovered=recovered)

    def _recover(self) -> int:
        direct = self._service.direct
        if direct is None:
            return 0
        try:
            return direct.recover()
        except Exception:
            log.warning("Looking for stranded exclusive ENIs failed", exc_info=True)
            return 0

    def _orphans(self, live: set[PodRef]) -> list[Allocation | DirectAllocation]:
        now = self._clock()
        uids = {p.uid for p in live if p.uid}
        names = {(p.namespace, p.name) for p in live}
        held: list[Allocation | DirectAllocation] = [*self._service.ledger.allocations()]
        if self._service.direct is not None:
            held += self._service.direct.ledger.allocations()
        # NB: by UID when the runtime gave one (a pod re-created under the same name is another pod), else by name.
        return [a for a in held
                if a.pod.name and now - a.allocated_at >= self._grace
                and not (a.pod.uid in uids if a.pod.uid else (a.pod.namespace, a.pod.name) in names)]
