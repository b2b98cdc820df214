"""The agent's node loop: node set-up is continuous, not only at start.

Each step reinstalls the CNI files if they drifted, applies the current NodeENIConfig status (ENIs by MAC,
route tables, rules, sysctls, pool) and publishes ``status.agent`` (in-use and promised-back IPs, heartbeat),
and runs IP GC when it is due. A step runs on every status change (``wake``, from the informer's handler)
and at least every ``resync_interval`` so that drift in links, routes, rules and sysctls is repaired.

Between steps, a change of the pod allocations (``allocations_changed``, from ADD/DEL) publishes the report
alone, promptly: ipamd sizes the warm pool from ``status.agent.inUseIPs``, so a report that waits for the next
resync leaves new pods waiting for IPs. Bursts coalesce into at most one report per ``report_interval``.

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
    report_interval: float = 0.2
    """Least seconds between two reports prompted by allocation changes (a burst of ADDs costs few patches)."""

    def __post_init__(self) -> None:
        if self.resync_interval <= 0 or self.gc_interval <= 0 or self.report_interval <= 0:
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
        self._signal = threading.Event()  # set by wake and allocations_changed: the waiting loop looks again
        self._step_wanted = threading.Event()
        self._report_wanted = threading.Event()
        self._last_gc: float | None = None
        self._last_report = float("-inf")

    def wake(self) -> None:
        """Asks for a step now (the NodeENIConfig changed)."""
        self._step_wanted.set()
        self._signal.set()

    def allocations_changed(self) -> None:
        """Asks for a prompt report (an IP was allocated or released); cheap, never blocks."""
        if self._report_wanted.is_set():
            # NB: a report is due already and reads the ledger only after clearing this flag, so it includes the
            # caller's change; waking the loop again would only make it contend with the caller's thread.
            return
        self._report_wanted.set()
        self._signal.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            # NB: cleared before the step, so a change during the step is seen by the wait below.
            self._step_wanted.clear()
            self._report_wanted.clear()
            self.step()
            self._last_report = self._clock()
            self._wait(stop)

    def _wait(self, stop: threading.Event) -> None:
        """Waits for the next step, publishing prompted reports meanwhile; returns when a step is due."""
        deadline = self._clock() + self._settings.resync_interval
        if self._gc is not None and self._last_gc is not None:
            deadline = min(deadline, self._last_gc + self._settings.gc_interval)
        while not stop.is_set():
            self._signal.clear()  # NB: before the checks, so a signal after them ends the wait below at once
            now = self._clock()
            if self._step_wanted.is_set() or now >= deadline:
                return
            timeout = min(_WAIT_SLICE, deadline - now)
            if self._report_wanted.is_set():
                report_at = self._last_report + self._settings.report_interval
                if now >= report_at:
                    self._report_wanted.clear()
                    self._phase("publish the agent status", self._report)
                    self._last_report = self._clock()
                    continue
                timeout = min(timeout, report_at - now)
            self._signal.wait(max(0.0, timeout))

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

    def _report(self) -> None:
        """Publishes the report over the pool last applied (no node work: that waits for the next step)."""
        if self._status() is None:
            return
        self._publish(self._sync.report())

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
