"""Server-side printing: ``meta.k8s.io/v1`` Table responses for ``kubectl get``.

kubectl asks for ``application/json;as=Table;g=meta.k8s.io;v=v1`` and prints what the server
returns. Custom resources get the columns of their CRD's ``additionalPrinterColumns`` (simple
JSONPath such as ``.status.phase`` or ``.spec.ips[0]``); pods get the familiar READY/STATUS
columns; everything else gets NAME and AGE, like the real server's default table. Rows carry
the object's metadata (``includeObject=Metadata``) or the whole object when asked.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from typing import Any

from .kinds import PrinterColumn, ResourceType

_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
AGE_COLUMN = {
    "name": "Age",
    "type": "string",
    "format": "",
    "description": "CreationTimestamp is a timestamp representing the server time when this object was created.",
    "priority": 0,
}


def evaluate(obj: Any, path: str) -> Any:
    """A small JSONPath: dotted fields, ``[n]`` indexes and ``['key']`` lookups; None when absent.

    >>> evaluate({"status": {"ips": ["10.0.0.1"]}}, ".status.ips[0]")
    '10.0.0.1'
    """
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.replace("\\.", "\x00")
    current = obj
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None:
            return None
        position = match.end()
        field, index, quoted, dquoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
            continue
        name = (field or quoted or dquoted or "").replace("\x00", ".")
        if not isinstance(current, dict) or name not in current:
            return None
        current = current[name]
    return current


def human_duration(seconds: float) -> str:
    """kubectl's short age format: 45s, 5m, 3h, 2d...

    >>> human_duration(30), human_duration(300), human_duration(7200), human_duration(200000)
    ('30s', '5m', '120m', '2d7h')
    """
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h" if minutes % 60 == 0 or hours >= 8 else f"{hours}h{minutes % 60}m"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def age(obj: dict[str, Any], now: float) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(created, str):
        return "<unknown>"
    try:
        then = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    return human_duration(now - then)


def _pod_ready(pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
    return f"{ready}/{len(containers)}"


def _pod_status(pod: dict[str, Any]) -> str:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    return str(status.get("reason") or status.get("phase") or "Unknown")


def _pod_restarts(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses if isinstance(s, dict))


Cell = Callable[[dict[str, Any], float], Any]
_POD_COLUMNS: list[tuple[dict[str, Any], Cell]] = [
    (NAME_COLUMN, lambda o, now: o["metadata"]["name"]),
    (
        {
            "name": "Ready",
            "type": "string",
            "format": "",
            "description": "The aggregate readiness state of this pod for accepting traffic.",
            "priority": 0,
        },
        lambda o, now: _pod_ready(o),
    ),
    (
        {
            "name": "Status",
            "type": "string",
            "format": "",
            "description": "The aggregate status of the containers in this pod.",
            "priority": 0,
        },
        lambda o, now: _pod_status(o),
    ),
    (
        {
            "name": "Restarts",
            "type": "string",
            "format": "",
            "description": "The number of times the containers in this pod have been restarted.",
            "priority": 0,
        },
        lambda o, now: str(_pod_restarts(o)),
    ),
    (AGE_COLUMN, age),
    (
        {
            "name": "IP",
            "type": "string",
            "format": "",
            "description": "IP address allocated to the pod.",
            "priority": 1,
        },
        lambda o, now: (o.get("status") or {}).get("podIP") or "<none>",
    ),
    (
        {
            "name": "Node",
            "type": "string",
            "format": "",
            "description": "Name of the Node this pod is assigned to.",
            "priority": 1,
        },
        lambda o, now: (o.get("spec") or {}).get("nodeName") or "<none>",
    ),
]
_DEFAULT_COLUMNS: list[tuple[dict[str, Any], Cell]] = [
    (NAME_COLUMN, lambda o, now: o["metadata"]["name"]),
    (AGE_COLUMN, age),
]


def _custom_cell(column: PrinterColumn) -> Cell:
    def cell(obj: dict[str, Any], now: float) -> Any:
        value = evaluate(obj, column.json_path)
        if value is None:
            return None
        if column.type == "date" and isinstance(value, str):
            return age({"metadata": {"creationTimestamp": value}}, now)
        if column.type == "integer" and isinstance(value, (int, float)):
            return int(value)
        if isinstance(value, (dict, list)):
            return value
        return value if column.type in ("number", "boolean") else str(value)

    return cell


def _column(name: str, description: str, priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": "string", "format": "", "description": description, "priority": priority}


def _node_status(node: dict[str, Any]) -> str:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), None)
    status = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    return status + (",SchedulingDisabled" if (node.get("spec") or {}).get("unschedulable") else "")


def _node_roles(node: dict[str, Any]) -> str:
    prefix = "node-role.kubernetes.io/"
    labels = (node.get("metadata") or {}).get("labels") or {}
    return ",".join(sorted(k[len(prefix) :] for k in labels if k.startswith(prefix))) or "<none>"


def _event_object(event: dict[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_last_seen(event: dict[str, Any], now: float) -> str:
    seen = (
        event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    )
    return age({"metadata": {"creationTimestamp": str(seen or "")[:19] + "Z"}}, now)


_NAME_CELL: tuple[dict[str, Any], Cell] = (NAME_COLUMN, lambda o, now: o["metadata"]["name"])
_BUILTIN_COLUMNS: dict[str, list[tuple[dict[str, Any], Cell]]] = {
    "Pod": _POD_COLUMNS,
    "Namespace": [
        _NAME_CELL,
        (_column("Status", "The status of the namespace"), lambda o, now: (o.get("status") or {}).get("phase", "")),
        (AGE_COLUMN, age),
    ],
    "Node": [
        _NAME_CELL,
        (_column("Status", "The status of the node"), lambda o, now: _node_status(o)),
        (_column("Roles", "The roles of the node"), lambda o, now: _node_roles(o)),
        (AGE_COLUMN, age),
        (
            _column("Version", "Kubelet Version reported by the node."),
            lambda o, now: ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
        ),
    ],
    "Event": [
        (_column("Last Seen", "Time when last this event was seen"), _event_last_seen),
        (_column("Type", "Type of this event (Normal, Warning)"), lambda o, now: o.get("type", "")),
        (_column("Reason", "Why the action was taken"), lambda o, now: o.get("reason", "")),
        (_column("Object", "The object that this event is about"), lambda o, now: _event_object(o)),
        (_column("Message", "A human-readable description of the status"), lambda o, now: o.get("message", "")),
    ],
}


def columns_for(rt: ResourceType) -> list[tuple[dict[str, Any], Cell]]:
    if rt.builtin and rt.group == "" and rt.kind in _BUILTIN_COLUMNS:
        return _BUILTIN_COLUMNS[rt.kind]
    if rt.builtin or not rt.printer_columns:
        return _DEFAULT_COLUMNS
    custom: list[tuple[dict[str, Any], Cell]] = [(NAME_COLUMN, lambda o, now: o["metadata"]["name"])]
    for column in rt.printer_columns:
        definition = {
            "name": column.name,
            "type": "string" if column.type == "date" else column.type,
            "format": column.format,
            "description": column.description,
            "priority": column.priority,
        }
        custom.append((definition, _custom_cell(column)))
    if not any(c.type == "date" and c.json_path == ".metadata.creationTimestamp" for c in rt.printer_columns):
        custom.append((AGE_COLUMN, age))
    return custom


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def to_table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: str = "",
    continue_token: str = "",
    include_object: str = "Metadata",
    with_columns: bool = True,
) -> dict[str, Any]:
    now = time.time()
    columns = columns_for(rt)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [cell(obj, now) for _, cell in columns]}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [definition for definition, _ in columns] if with_columns else [],
        "rows": rows,
    }
