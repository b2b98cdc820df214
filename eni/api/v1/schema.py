"""OpenAPI v3 structural schemas derived from the typed API dataclasses.

The schema is read off the same annotations the codec uses, so the CRDs in config/crd cannot
disagree with the Python types: str/int/float/bool map to their JSON types, ``tuple[X, ...]`` to
arrays, ``dict[str, X]`` to maps, ``X | None`` to an optional X, enums to ``enum`` lists,
``datetime`` to ``date-time`` strings, ``timedelta`` to ``duration`` strings and nested
dataclasses to objects. Fields without a default are ``required``. Descriptions come from
attribute docstrings (the string literal right under a field) or ``hints(description=...)`` and
show in ``kubectl explain``.

Only used when generating manifests; it reads source code (``inspect``/``ast``) and must never be
imported on a hot path.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import textwrap
import types
import typing
from datetime import datetime, timedelta
from typing import Any

from .codec import field_types, wire_name
from .resource import CustomObject, part_type

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    datetime: {"type": "string", "format": "date-time"},
    timedelta: {"type": "string", "format": "duration"},
}
_HINT_KEYS = {"minimum": "minimum", "maximum": "maximum", "pattern": "pattern", "format": "format"}


def object_schema(kind_class: type[CustomObject]) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of a kind: apiVersion, kind, metadata, spec and status."""
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string", "description": "Versioned schema of this object."},
        "kind": {"type": "string", "description": "REST resource this object represents."},
        "metadata": {"type": "object"},
    }
    required = []
    for part in ("spec", "status"):
        cls = part_type(kind_class, part)
        properties[part] = dataclass_schema(cls, description=describe_class(cls))
        if _is_required(_field(kind_class, part)):
            required.append(part)
    schema: dict[str, Any] = {"type": "object", "description": describe_class(kind_class), "properties": properties}
    if required:
        schema["required"] = required
    return schema


def dataclass_schema(cls: type, *, description: str = "") -> dict[str, Any]:
    """The object schema of one dataclass, with its fields in declaration order."""
    types_ = field_types(cls)
    docs = attribute_docs(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        doc = _one_line(field.metadata.get("description") or docs.get(field.name, ""))
        properties[wire_name(field)] = type_schema(types_[field.name], field=field, description=doc)
        if field.init and _is_required(field):
            required.append(wire_name(field))
    schema: dict[str, Any] = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = properties
    if required:
        schema["required"] = required
    return schema


def type_schema(tp: Any, *, field: dataclasses.Field[Any] | None = None, description: str = "") -> dict[str, Any]:
    """The schema of an annotated type; field hints (format, minimum...) apply to its innermost scalar."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(members) != 1:
            raise TypeError(f"only `X | None` unions are supported, not {tp}")
        return type_schema(members[0], field=field, description=description)
    if origin is tuple:
        items = type_schema(typing.get_args(tp)[0], field=field)
        return _described({"type": "array", "items": items}, description)
    if origin is dict:
        values = type_schema(typing.get_args(tp)[1])
        return _described({"type": "object", "additionalProperties": values}, description)
    if dataclasses.is_dataclass(tp):
        cls = typing.cast(type, tp)
        return dataclass_schema(cls, description=description or describe_class(cls))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        schema: dict[str, Any] = {"type": "string", "enum": [member.value for member in tp]}
    elif tp in _SCALARS:
        schema = dict(_SCALARS[tp])
    else:
        raise TypeError(f"no schema for type {tp!r}")
    if field is not None:
        for hint, key in _HINT_KEYS.items():
            if hint in field.metadata:
                schema[key] = field.metadata[hint]
    return _described(schema, description)


def describe_class(cls: type) -> str:
    """A class docstring as one line of text (dataclasses invent a docstring when there is none)."""
    doc = cls.__dict__.get("__doc__") or ""
    if doc.startswith(f"{cls.__name__}("):
        return ""
    return _one_line(doc)


@functools.cache
def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> the string literal written right under the field's annotation in the class body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    class_def = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef))
    docs: dict[str, str] = {}
    body = class_def.body
    for node, following in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = _one_line(following.value.value)
    return docs


def _is_required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _field(cls: type, name: str) -> dataclasses.Field[Any]:
    return next(field for field in dataclasses.fields(cls) if field.name == name)


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``schema`` with ``description`` placed right after ``type`` (the order kubebuilder writes)."""
    if not description:
        return schema
    return {"type": schema["type"], "description": description, **schema}


def _one_line(doc: str) -> str:
    """Docstring text as one line for kubectl explain, without reStructuredText literal markers."""
    return " ".join(doc.split()).replace("``", "")
