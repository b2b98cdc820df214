"""The three patch formats kube-apiserver accepts besides server-side apply.

* JSON merge patch (RFC 7386): maps merge, ``null`` deletes, everything else replaces.
* JSON patch (RFC 6902): add/remove/replace/move/copy/test over JSON pointers.
* Strategic merge patch: a merge patch that knows, per field path, which lists merge by a key
  (containers by name, conditions by type, ownerReferences by uid...), which primitive lists are
  sets (finalizers), and honours the ``$patch``, ``$retainKeys``, ``$setElementOrder`` and
  ``$deleteFromPrimitiveList`` directives that kubectl generates.

Every function returns a new document and never mutates its inputs. A patch that cannot apply
raises :class:`PatchError`; a patch that is not even well formed raises :class:`MalformedPatch`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

JSON = Any
MergeKeyOf = Callable[[tuple[str, ...]], "str | None"]
SET = "$set"  # merge-key marker: a list of primitives merged as a set


class MalformedPatch(ValueError):
    """The patch document itself is not valid for its format (HTTP 400)."""


class PatchError(ValueError):
    """The patch is valid but cannot apply to this object (HTTP 422)."""


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """RFC 7386.

    >>> merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}})
    {'a': 1, 'b': {'d': 3}}
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch -------------------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise MalformedPatch(f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: JSON, parts: list[str], path: str) -> JSON:
    current = doc
    for part in parts[:-1]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path!r}")
    return current


def _list_index(container: list[Any], part: str, path: str, *, for_insert: bool) -> int:
    if part == "-" and for_insert:
        return len(container)
    if not part.isdigit():
        raise PatchError(f"invalid array index {part!r} in {path!r}")
    index = int(part)
    limit = len(container) if for_insert else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of bounds in {path!r}")
    return index


def _get(doc: JSON, path: Any) -> JSON:
    current = doc
    for part in _pointer(path):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list):
            current = current[_list_index(current, part, path, for_insert=False)]
        else:
            raise PatchError(f"doc is missing path: {path!r}")
    return current


def _remove(doc: JSON, path: Any) -> JSON:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _container(doc, parts, path)
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise PatchError(f"unable to remove nonexistent key: {parts[-1]}: missing value")
        return parent.pop(parts[-1])
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, parts[-1], path, for_insert=False))
    raise PatchError(f"doc is missing path: {path!r}")


def _add(doc: JSON, path: Any, value: JSON, *, replace: bool) -> JSON:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _container(doc, parts, path)
    if isinstance(parent, dict):
        if replace and parts[-1] not in parent:
            raise PatchError(f"replace operation does not apply: doc is missing key: {path}")
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        index = _list_index(parent, parts[-1], path, for_insert=not replace)
        if replace:
            parent[index] = value
        else:
            parent.insert(index, value)
    else:
        raise PatchError(f"doc is missing path: {path!r}")
    return doc


def json_patch(target: JSON, operations: JSON) -> JSON:
    """RFC 6902.

    >>> json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "test", "path": "/a/1", "value": 2}])
    {'a': [1, 2]}
    """
    if not isinstance(operations, list):
        raise MalformedPatch("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise MalformedPatch(f"invalid JSON patch operation {op!r}")
        name, path = op["op"], op.get("path")
        if name in ("add", "replace", "test") and "value" not in op:
            raise MalformedPatch(f"{name} operation requires a value")
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=False)
        elif name == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=True)
        elif name == "remove":
            _remove(doc, path)
        elif name in ("move", "copy"):
            moved = _remove(doc, op.get("from")) if name == "move" else copy.deepcopy(_get(doc, op.get("from")))
            doc = _add(doc, path, moved, replace=False)
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed")
        else:
            raise MalformedPatch(f"unexpected kind of JSON patch operation {name!r}")
    return doc


# --- strategic merge patch --------------------------------------------------------------------

_POD_LIKE_LISTS = {"containers", "initContainers", "ephemeralContainers"}
_BY_FIELD = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "addresses": "type",
    "taints": "key",
    "podIPs": "ip",
    "readinessGates": "conditionType",
    "schedulingGates": "name",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}


def builtin_merge_key(path: tuple[str, ...]) -> str | None:
    """Merge key (or SET) of the list at ``path`` in a built-in kind, None when the list is atomic.

    >>> builtin_merge_key(("spec", "containers", "ports")), builtin_merge_key(("spec", "ports"))
    ('containerPort', 'port')
    """
    if not path:
        return None
    name = path[-1]
    if path == ("metadata", "finalizers"):
        return SET
    if name == "ports":
        return "containerPort" if len(path) >= 2 and path[-2] in _POD_LIKE_LISTS else "port"
    return _BY_FIELD.get(name)


def strategic_merge_patch(target: JSON, patch: JSON, merge_key_of: MergeKeyOf = builtin_merge_key) -> JSON:
    """Apply a strategic merge patch to a built-in object."""
    if not isinstance(patch, dict):
        raise MalformedPatch("a strategic merge patch must be a JSON object")
    base = copy.deepcopy(target) if isinstance(target, dict) else {}
    result = _merge_map(base, copy.deepcopy(patch), (), merge_key_of)
    return result if result is not None else {}


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...], merge_key_of: MergeKeyOf
) -> dict[str, Any] | None:
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return None
    if directive == "replace":
        stripped: dict[str, Any] = _strip_directives(patch)
        return stripped
    if directive is not None:
        raise MalformedPatch(f"unknown patch type: {directive!r}")
    retain = patch.pop("$retainKeys", None)
    orders: dict[str, list[Any]] = {}
    for key in [k for k in patch if k.startswith("$setElementOrder/")]:
        orders[key.split("/", 1)[1]] = patch.pop(key)
    for key in [k for k in patch if k.startswith("$deleteFromPrimitiveList/")]:
        field = key.split("/", 1)[1]
        doomed = patch.pop(key)
        if isinstance(original.get(field), list) and isinstance(doomed, list):
            original[field] = [v for v in original[field] if v not in doomed]
    for key, value in patch.items():
        child = path + (key,)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(
                original[key] if isinstance(original.get(key), dict) else {}, value, child, merge_key_of
            )
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _merge_list(original.get(key), value, child, merge_key_of)
        else:
            original[key] = value
    for field, order in orders.items():
        if isinstance(original.get(field), list):
            original[field] = _reorder(original[field], order, merge_key_of(path + (field,)))
    if isinstance(retain, list):
        original = {k: v for k, v in original.items() if k in retain}
    return original


def _merge_list(original: Any, patch: list[Any], path: tuple[str, ...], merge_key_of: MergeKeyOf) -> list[Any]:
    key = merge_key_of(path)
    current = list(original) if isinstance(original, list) else []
    if key == SET:
        merged = [v for v in current]
        for value in patch:
            if value not in merged:
                merged.append(value)
        return merged
    if key is None or not all(isinstance(v, dict) for v in patch):
        return [_strip_directives(v) if isinstance(v, dict) else v for v in patch]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip_directives(v) for v in patch if v.get("$patch") != "replace"]
    for element in patch:
        if key not in element:
            raise PatchError(f"map: {element} does not contain declared merge key: {key}")
        index = next((i for i, e in enumerate(current) if isinstance(e, dict) and e.get(key) == element[key]), None)
        if element.get("$patch") == "delete":
            current = [e for e in current if not (isinstance(e, dict) and e.get(key) == element[key])]
        elif index is None:
            current.append(_strip_directives(element))
        else:
            merged_element = _merge_map(dict(current[index]), element, path, merge_key_of)
            if merged_element is None:
                current.pop(index)
            else:
                current[index] = merged_element
    return current


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def identity(item: Any) -> Any:
        return item.get(key) if key not in (None, SET) and isinstance(item, dict) else item

    wanted = [identity(o) if isinstance(o, dict) else o for o in order]
    ranked = {repr(w): i for i, w in enumerate(wanted)}
    return sorted(items, key=lambda item: ranked.get(repr(identity(item)), len(ranked)))


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value
