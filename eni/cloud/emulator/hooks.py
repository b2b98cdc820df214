"""How the outside world learns what the emulated VPC did: attach, detach, assign, unassign.

The local cluster implements ``EmulatorHooks`` to program its simulated VPC data plane. Events are
produced when an asynchronous task commits (the moment the real cloud would have done the work) and
delivered by one ``HookDispatcher`` thread, outside the state lock, in the order they happened (so a
hook may call back into the emulator). A hook that raises is
logged and skipped: hooks can never break the API or the emulator.

Primary ENIs never produce events: they exist with their instance (world loading or
``POST /_admin/instances``, whose reply carries the primary ENI's id, MAC and IP).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EniView:
    """An ENI as the data plane needs it, copied out of the state at the time of the event."""

    eni_id: str
    mac: str
    vpc_id: str
    subnet_id: str
    subnet_cidr: str
    zone: str
    primary: bool
    primary_ip: str
    ips: tuple[str, ...]
    instance_id: str


class EmulatorHooks(Protocol):
    """Called once per committed change, from the emulator's threads, never under its lock."""

    def on_attach(self, eni: EniView, instance_id: str) -> None: ...

    def on_detach(self, eni: EniView, instance_id: str) -> None: ...

    def on_assign(self, eni_id: str, ips: tuple[str, ...]) -> None: ...

    def on_unassign(self, eni_id: str, ips: tuple[str, ...]) -> None: ...


class HookKind(enum.Enum):
    ATTACH = "attach"
    DETACH = "detach"
    ASSIGN = "assign"
    UNASSIGN = "unassign"


@dataclass(frozen=True, slots=True)
class HookEvent:
    kind: HookKind
    eni: EniView
    instance_id: str = ""
    ips: tuple[str, ...] = ()


def deliver(hooks: EmulatorHooks | None, events: Iterable[HookEvent]) -> None:
    """Call the hooks for ``events`` in order; exceptions are logged, never raised."""
    if hooks is None:
        return
    for event in events:
        try:
            if event.kind is HookKind.ATTACH:
                hooks.on_attach(event.eni, event.instance_id)
            elif event.kind is HookKind.DETACH:
                hooks.on_detach(event.eni, event.instance_id)
            elif event.kind is HookKind.ASSIGN:
                hooks.on_assign(event.eni.eni_id, event.ips)
            else:
                hooks.on_unassign(event.eni.eni_id, event.ips)
        except Exception:
            log.exception("Emulator hook failed", extra={"hook": event.kind.value, "eni": event.eni.eni_id})


class HookDispatcher:
    """Delivers queued events on one thread, in order. ``flush`` waits until the queue is drained."""

    def __init__(self, hooks: EmulatorHooks | None) -> None:
        self.hooks = hooks
        self._cond = threading.Condition()
        self._queue: deque[HookEvent] = deque()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.hooks is None or self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="emulator-hooks", daemon=True)
        self._thread.start()

    def submit(self, events: list[HookEvent]) -> None:
        """Queue events (called with the state lock held, which fixes their order)."""
        if self.hooks is None or not events:
            return
        with self._cond:
            self._queue.extend(events)
            self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event has been delivered; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait(1.0)
                if not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._busy = True
            deliver(self.hooks, batch)
            with self._cond:
                self._busy = False
                self._cond.notify_all()
