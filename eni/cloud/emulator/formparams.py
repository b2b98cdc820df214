"""Parameters of GET requests: the SDK's flattened query (``Filters.0.Values.1=x``) back to JSON shapes.

With ``HttpProfile(reqMethod="GET")`` the SDK signs a form-encoded query string whose keys flatten
lists and objects with dots and indexes, and whose values are all strings. We rebuild the nesting and
convert the scalars each declared ``Kind`` expects (integers, booleans), so the same checks and
actions serve GET and POST. Anything that does not fit is ``InvalidParameter``; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import ApiError
from .params import Kind

MAX_KEYS = 1000


def parse_query(query: str, spec: Mapping[str, Kind]) -> dict[str, Any]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=MAX_KEYS)
    except ValueError as e:
        raise ApiError("InvalidParameter", f"The query string is malformed: {e}") from e
    tree: dict[str, Any] = {}
    for key, value in pairs:
        _insert(tree, key.split("."), value, key)
    params = {name: _listify(value, name) for name, value in tree.items()}
    return {name: _coerce(value, spec.get(name), name) for name, value in params.items()}


def _insert(tree: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ApiError("InvalidParameter", f"The parameter `{key}` conflicts with another one.")
        node = child
    if parts[-1] in node:
        raise ApiError("InvalidParameter", f"The parameter `{key}` is given twice.")
    node[parts[-1]] = value


def _listify(node: Any, name: str) -> Any:
    """Objects whose keys are 0..n-1 become lists, recursively."""
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        indexes = sorted(int(k) for k in node)
        if indexes != list(range(len(indexes))):
            raise ApiError("InvalidParameter", f"The indexes of `{name}` must run from 0 without gaps.")
        return [_listify(node[str(i)], f"{name}.{i}") for i in indexes]
    return {k: _listify(v, f"{name}.{k}") for k, v in node.items()}


def _coerce(value: Any, kind: Kind | None, name: str) -> Any:
    if kind is Kind.INT and isinstance(value, str):
        if not value.lstrip("-").isdigit():
            raise ApiError("InvalidParameter", f"The parameter `{name}` must be of type Integer.")
        return int(value)
    if kind is Kind.BOOL and isinstance(value, str):
        return _boolean(value, name)
    if kind is Kind.IP_SPECS and isinstance(value, list):
        return [
            {**item, "Primary": _boolean(item["Primary"], name)} if isinstance(item, dict) and "Primary" in item
            else item
            for item in value
        ]
    return value


def _boolean(value: object, name: str) -> bool:
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    raise ApiError("InvalidParameter", f"The parameter `{name}` must be of type Boolean.")
