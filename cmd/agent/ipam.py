"""``tke-eni-agent ipam``: this node's IP allocations, asked of the running agent.

It calls the agent API's read-only ``Introspection/ListAllocations`` over the agent's JSON socket
(the same one the CNI plugins use), so it shows exactly what the agent holds, never a stale file.
It must never change anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from eni.cni.client import call

LIST_ALLOCATIONS = "Introspection/ListAllocations"


@dataclass(frozen=True, slots=True)
class Row:
    """One allocation as the table shows it."""

    pod: str
    container: str
    ip: str
    eni: str
    allocated_at: float


def list_allocations(json_socket: str, *, timeout: float) -> list[Row]:
    """The agent's allocations, ordered by pod then IP; raises eni.cni.errors.CniError when unreachable."""
    reply = call(json_socket, LIST_ALLOCATIONS, {}, timeout=timeout)
    rows = [_row(item) for item in reply.get("allocations", []) if isinstance(item, dict)]
    return sorted(rows, key=lambda row: (row.pod, row.ip))


def render_table(rows: list[Row], *, now: float | None = None) -> str:
    """A kubectl-style table: POD, CONTAINER (first 12 characters), IP, ENI, AGE."""
    now = time.time() if now is None else now
    lines = [("POD", "CONTAINER", "IP", "ENI", "AGE")]
    for row in rows:
        lines.append((row.pod or "<unknown>", row.container[:12], row.ip, row.eni,
                      _age(now - row.allocated_at) if row.allocated_at else "<unknown>"))
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def render_json(rows: list[Row]) -> str:
    return json.dumps([{"pod": r.pod, "container": r.container, "ip": r.ip, "eni": r.eni,
                        "allocatedAt": r.allocated_at} for r in rows], indent=2)


def _row(item: dict[str, Any]) -> Row:
    pod = _object(item.get("pod"))
    key = _object(item.get("key"))
    namespace, name = str(pod.get("namespace", "")), str(pod.get("name", ""))
    allocated_at = item.get("allocatedAt", 0)
    return Row(
        pod=f"{namespace}/{name}" if namespace and name else name,
        container=str(key.get("containerId", "")),
        ip=str(item.get("ip", "")),
        eni=str(item.get("eniId", "") or item.get("eniMac", "")),
        allocated_at=float(allocated_at) if isinstance(allocated_at, int | float) else 0.0,
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _age(seconds: float) -> str:
    """kubectl's short ages: 45s, 3m, 5h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
