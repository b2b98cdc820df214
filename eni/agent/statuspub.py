"""Publishes ``status.agent`` of the node's NodeENIConfig: only when it changed, plus a periodic heartbeat.

Why: every node loop step computes an ``AgentStatus`` (after the ledger made its promises durable); writing
each one would cost the API server one patch per node every few seconds. The publisher sends a JSON merge
patch on the status subresource (``{"status": {"agent": ...}}``, the agent's part only) when the in-use or
released IPs (or exclusive ENIs) differ from what it last wrote or from what the API server shows, and
otherwise once per ``heartbeat`` so ipamd can tell a live agent from a dead one.

Must never: write anything but ``status.agent``; swallow a failed patch (the caller logs it and the next
step retries, since nothing counts as published until the patch succeeded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from eni.agent.nodesync import AgentStatus

__all__ = ["StatusPublisher", "DEFAULT_HEARTBEAT"]

DEFAULT_HEARTBEAT = 60.0
_SETTLE = 5.0  # seconds after a patch during which the informer may still show the older status


class StatusPublisher:
    """``publish`` is the NodeLoop's ``publish``; ``patch`` sends one merge patch of the status subresource and
    ``current`` (optional) returns the NEC's status as the informer shows it."""

    def __init__(
        self,
        patch: Callable[[Mapping[str, Any]], object],
        *,
        current: Callable[[], Mapping[str, Any] | None] | None = None,
        heartbeat: float = DEFAULT_HEARTBEAT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self._patch = patch
        self._current = current
        self._heartbeat = heartbeat
        self._clock = clock
        self._last: tuple[tuple[str, ...], ...] | None = None
        self._last_at = 0.0

    def publish(self, status: AgentStatus) -> bool:
        """Patches ``status`` when due; True when a patch was sent."""
        wanted = status.handshake()
        now = self._clock()
        if wanted == self._last and now - self._last_at < self._heartbeat and not self._overwritten(now):
            return False
        self._patch({"status": {"agent": status.to_json()}})
        self._last, self._last_at = wanted, now
        return True

    def _overwritten(self, now: float) -> bool:
        """Whether the API server shows other IPs than we last wrote (lost or replaced), past the settle time."""
        if self._current is None or now - self._last_at < _SETTLE:
            return False
        agent = (self._current() or {}).get("agent")
        if not isinstance(agent, Mapping):
            return True
        shown = tuple(tuple(agent.get(name) or ()) for name in ("inUseIPs", "releasedIPs", "inUseENIs", "releasedENIs"))
        return shown != self._last
