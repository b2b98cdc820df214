"""A small structural-schema validator for custom resources (the CRD's ``openAPIV3Schema``).

It does what kube-apiserver does to a custom object before storing it, for the subset of OpenAPI
v3 that CRDs use: checks ``type``, ``required``, ``enum``, ``nullable``, string/array/number
bounds, ``pattern`` and ``x-kubernetes-int-or-string``; prunes fields the schema does not declare
(unless ``x-kubernetes-preserve-unknown-fields``); and applies ``default`` values. It returns the
pruned, defaulted copy plus the list of causes and never mutates its input.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import Cause

_TYPE_NAMES = {
    "object": "object",
    "array": "array",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}
_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return (
            isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())
        )
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _render(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, (dict, list)) else f'"{type(value).__name__}"'


class _Walker:
    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def fail(self, reason: str, path: str, message: str) -> None:
        self.causes.append(Cause(reason=reason, message=message, field=path))

    def walk(self, value: Any, schema: dict[str, Any], path: str, *, root: bool = False) -> Any:
        if value is None:
            if schema.get("nullable"):
                return None
            expected = schema.get("type")
            if expected:
                self.fail(
                    "FieldValueTypeInvalid",
                    path,
                    f'Invalid value: "null": {path} in body must be of type {expected}: "null"',
                )
            return None
        if schema.get("x-kubernetes-int-or-string"):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                self.fail(
                    "FieldValueTypeInvalid",
                    path,
                    f"Invalid value: {_render(value)}: {path} in body must be of type int-or-string",
                )
            return value
        expected = schema.get("type")
        if expected in _TYPE_NAMES and not _type_ok(value, expected):
            kind = "string" if isinstance(value, str) else type(value).__name__
            self.fail(
                "FieldValueTypeInvalid",
                path,
                f'Invalid value: "{kind}": {path} in body must be of type {expected}: "{kind}"',
            )
            return value
        self._check_enum(value, schema, path)
        if isinstance(value, dict):
            return self._walk_object(value, schema, path, root=root)
        if isinstance(value, list):
            return self._walk_array(value, schema, path)
        if isinstance(value, str):
            self._check_string(value, schema, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(value, schema, path)
        return value

    def _check_enum(self, value: Any, schema: dict[str, Any], path: str) -> None:
        allowed = schema.get("enum")
        if isinstance(allowed, list) and value not in allowed:
            rendered = ", ".join(json.dumps(a) for a in allowed)
            self.fail(
                "FieldValueNotSupported", path, f"Unsupported value: {_render(value)}: supported values: {rendered}"
            )

    def _check_string(self, value: str, schema: dict[str, Any], path: str) -> None:
        if "maxLength" in schema and len(value) > int(schema["maxLength"]):
            self.fail("FieldValueTooLong", path, f"Too long: may not be more than {schema['maxLength']} bytes")
        if "minLength" in schema and len(value) < int(schema["minLength"]):
            self.fail(
                "FieldValueInvalid",
                path,
                f'Invalid value: "{value}": {path} in body should be at least {schema["minLength"]} chars long',
            )
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                matched = re.search(pattern, value) is not None
            except re.error:
                matched = True
            if not matched:
                self.fail(
                    "FieldValueInvalid", path, f"Invalid value: \"{value}\": {path} in body should match '{pattern}'"
                )

    def _check_number(self, value: float, schema: dict[str, Any], path: str) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            self.fail(
                "FieldValueInvalid",
                path,
                f"Invalid value: {value}: {path} in body should be greater than or equal to {schema['minimum']}",
            )
        if "maximum" in schema and value > schema["maximum"]:
            self.fail(
                "FieldValueInvalid",
                path,
                f"Invalid value: {value}: {path} in body should be less than or equal to {schema['maximum']}",
            )

    def _walk_object(self, value: dict[str, Any], schema: dict[str, Any], path: str, *, root: bool) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        out: dict[str, Any] = {}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if root and key in _ROOT_FIELDS:
                out[key] = child
            elif key in properties:
                out[key] = self.walk(child, properties[key], child_path)
            elif isinstance(additional, dict):
                out[key] = self.walk(child, additional, child_path)
            elif additional is True or preserve:
                out[key] = child
            # else: pruned, as the real server drops unknown fields of structural schemas
        for key, prop in properties.items():
            if key not in out and isinstance(prop, dict) and "default" in prop:
                out[key] = json.loads(json.dumps(prop["default"]))
        for key in schema.get("required") or []:
            if key not in out:
                child_path = f"{path}.{key}" if path else key
                self.fail("FieldValueRequired", child_path, "Required value")
        if "maxProperties" in schema and len(out) > int(schema["maxProperties"]):
            self.fail(
                "FieldValueTooMany", path, f"Too many: {len(out)}: must have at most {schema['maxProperties']} items"
            )
        return out

    def _walk_array(self, value: list[Any], schema: dict[str, Any], path: str) -> list[Any]:
        if "maxItems" in schema and len(value) > int(schema["maxItems"]):
            self.fail(
                "FieldValueTooMany", path, f"Too many: {len(value)}: must have at most {schema['maxItems']} items"
            )
        if "minItems" in schema and len(value) < int(schema["minItems"]):
            self.fail(
                "FieldValueInvalid",
                path,
                f"Invalid value: {len(value)}: {path} in body should have at least {schema['minItems']} items",
            )
        items = schema.get("items")
        if not isinstance(items, dict):
            return list(value)
        return [self.walk(v, items, f"{path}[{i}]") for i, v in enumerate(value)]


def validate_and_prune(obj: dict[str, Any], schema: dict[str, Any] | None) -> tuple[dict[str, Any], list[Cause]]:
    """Validate ``obj`` against a structural schema; return the pruned, defaulted copy and the causes."""
    if not schema:
        return obj, []
    walker = _Walker()
    result = walker.walk(obj, schema, "", root=True)
    return (result if isinstance(result, dict) else obj), walker.causes
