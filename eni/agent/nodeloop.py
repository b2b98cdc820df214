"""The agent's node loop: node set-up is continuous, not only at start.

Each step reinstalls the CNI files if they drifted, applies the current NodeENIConfig status (ENIs by MAC,
route tables, rules, sysctls, pool) and publishes ``status.agent`` (in-use and promised-back IPs, heartbeat),
and runs IP GC when it is due. A step runs on every status change (``wake``, from the informer's handler)
and at least every ``resync_interval`` so that drift in links, routes, rules and sysctls is repaired.

Must never: stop because one phase failed (each is logged and retried next step); publish a status that
was computed before the ledger made its promises durable (NodeSync orders that); block ``stop`` for longer
than one wait slice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eni.agent.gc import IpGarbageCollector
from eni.agent.nodesync import AgentStatus, NodeSync

__all__ = ["NodeLoop", "NodeLoopSettings"]

log = logging.getLogger(__name__)

_WAIT_SLICE = 0.5


@dataclass(frozen=True, slots=True)
class NodeLoopSettings:
    resync_interval: float = 10.0
    """Seconds between steps when nothing changes: the drift-repair period."""
    gc_interval: float = 60.0
    """Seconds between IP GC runs."""

    def __post_init__(self) -> None:
        if self.resync_interval <= 0 or self.gc_interval <= 0:
            raise ValueError("intervals must be positive")


class NodeLoop:
    """Runs ``step`` until stopped; the collaborators are callables so that ``cmd`` wires informers and clients."""

    def __init__(
        self,
        sync: NodeSync,
        *,
        status: Callable[[], Mapping[str, Any] | None],
        publish: Callable[[AgentStatus], None],
        gc: IpGarbageCollector | None = None,
        install: Callable[[], object] | None = None,
        settings: NodeLoopSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sync = sync
        self._status = status
        self._publish = publish
        self._gc = gc
        self._install = install
        self._settings = settings or NodeLoopSettings()
        self._clock = clock
        self._wake = threading.Event()
        self._last_gc: float | None = None

    def wake(self) -> None:
        """Asks for a step now (the NodeENIConfig changed)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
            deadline = self._clock() + self._settings.resync_interval
            if self._gc is not None and self._last_gc is not None:
                deadline = min(deadline, self._last_gc + self._settings.gc_interval)
            while not stop.is_set() and not self._wake.is_set() and self._clock() < deadline:
                self._wake.wait(min(_WAIT_SLICE, max(0.0, deadline - self._clock())))
            self._wake.clear()

    def step(self) -> None:
        """One pass; every phase is independent of the others' failures."""
        if self._install is not None:
            self._phase("install the CNI plugins", self._install)
        self._phase("apply the NodeENIConfig status", self._apply)
        if self._gc is not None and self._gc_due():
            self._phase("collect orphaned pod IPs", self._gc.collect)

    def _apply(self) -> None:
        status = self._status()
        if status is None:
            log.debug("No NodeENIConfig for this node yet")
            return
        self._publish(self._sync.sync(status))

    def _gc_due(self) -> bool:
        now = self._clock()
        if self._last_gc is not None and now - self._last_gc < self._settings.gc_interval:
            return False
        self._last_gc = now
        return True

    @staticmethod
    def _phase(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception("Node loop phase failed", extra={"phase": what})
