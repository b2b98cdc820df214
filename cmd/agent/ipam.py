"""``tke-eni-agent ipam``: this node's allocations (shared-ENI IPs and exclusive ENIs), asked of the running agent.

It calls the agent API's read-only ``Introspection/ListAllocations`` and ``Introspection/GetPool`` over the
agent's JSON socket (the same one the CNI plugins use), so it shows exactly what the agent holds, never a stale
file. On a node with exclusive ENIs the table gets a KIND column that tells a shared IP from a whole exclusive ENI
(GetPool lists each exclusive ENI with its primary IP in a ``Direct...`` state); other nodes keep the shorter
table, and the JSON output always carries ``kind``. It must never change anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from eni.cni.client import call

LIST_ALLOCATIONS = "Introspection/ListAllocations"
GET_POOL = "Introspection/GetPool"
DIRECT_STATE_PREFIX = "Direct"
SHARED, DIRECT = "shared", "direct"


@dataclass(frozen=True, slots=True)
class Row:
    """One allocation as the table shows it."""

    pod: str
    container: str
    ip: str
    eni: str
    allocated_at: float
    kind: str = SHARED
    """shared (a secondary IP of a shared ENI) or direct (the whole ENI)."""


def list_allocations(json_socket: str, *, timeout: float) -> list[Row]:
    """The agent's allocations, ordered by pod then IP; raises eni.cni.errors.CniError when unreachable."""
    return list_node(json_socket, timeout=timeout)[0]


def list_node(json_socket: str, *, timeout: float) -> tuple[list[Row], bool]:
    """The agent's allocations (by pod, then IP) and whether the node has exclusive ENIs at all."""
    reply = call(json_socket, LIST_ALLOCATIONS, {}, timeout=timeout)
    direct = _direct_enis(call(json_socket, GET_POOL, {}, timeout=timeout))
    rows = [_row(item, direct) for item in reply.get("allocations", []) if isinstance(item, dict)]
    return sorted(rows, key=lambda row: (row.pod, row.ip)), bool(direct)


def _direct_enis(pool: dict[str, Any]) -> set[str]:
    """The ids of the exclusive ENIs in a GetPool reply."""
    enis = pool.get("enis")
    return {str(eni.get("eniId", "")) for eni in (enis if isinstance(enis, list) else []) if isinstance(eni, dict)
            and any(isinstance(ip, dict) and str(ip.get("state", "")).startswith(DIRECT_STATE_PREFIX)
                    for ip in (eni.get("ips") or []))}


def render_table(rows: list[Row], *, now: float | None = None, kinds: bool = False) -> str:
    """A kubectl-style table: POD, CONTAINER (first 12 characters), [KIND,] IP, ENI, AGE."""
    now = time.time() if now is None else now
    lines: list[tuple[str, ...]] = [("POD", "CONTAINER", *(("KIND",) if kinds else ()), "IP", "ENI", "AGE")]
    for row in rows:
        lines.append((row.pod or "<unknown>", row.container[:12], *((row.kind,) if kinds else ()), row.ip, row.eni,
                      _age(now - row.allocated_at) if row.allocated_at else "<unknown>"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def render_json(rows: list[Row]) -> str:
    return json.dumps([{"pod": r.pod, "container": r.container, "kind": r.kind, "ip": r.ip, "eni": r.eni,
                        "allocatedAt": r.allocated_at} for r in rows], indent=2)


def _row(item: dict[str, Any], direct: set[str]) -> Row:
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
        kind=_kind(item, direct),
    )


def _kind(item: dict[str, Any], direct: set[str]) -> str:
    # NB: agents before the Allocation.kind field: an allocation of an ENI GetPool lists as exclusive is direct.
    kind = item.get("kind")
    if kind in (SHARED, DIRECT):
        return str(kind)
    return DIRECT if item.get("eniId") and str(item.get("eniId")) in direct else SHARED


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _age(seconds: float) -> str:
    """kubectl's short ages: 45s, 3m, 5h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
