"""Conversion between the typed API dataclasses and their JSON wire form.

The dataclasses are the single source of truth: this module reads their type annotations to
decode and encode, and ``schema.py`` reads the same annotations to write the OpenAPI schema, so
the two can never drift apart.

Rules (in the spirit of Kubernetes' Go types with ``omitempty``):
- Python names are snake_case; wire names are camelCase with Kubernetes' acronyms kept upper-case
  (``max_ip_per_eni`` -> ``maxIPPerENI``, ``pod_uid`` -> ``podUID``). A field can override its wire
  name with ``metadata=hints(wire=...)``.
- Decoding ignores unknown keys (newer writers), accepts missing fields that have defaults, and
  raises ``DecodeError`` naming the JSON path for a missing required field or a wrong type. It
  never coerces: ``"5"`` is not an int.
- Encoding leaves out ``None``, empty strings, empty lists/maps and empty nested objects, so that
  ``decode(encode(x)) == x`` and created objects stay small. Numbers and booleans are always written.
  ``encode_replacing`` is the merge-patch form that writes (or nulls) every field instead.
- Timestamps are RFC 3339 in UTC; durations use Go's notation (``1h30m0s``), as metav1 does.

This module must never import anything outside the standard library.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiValueError, DecodeError

# Words that Kubernetes API conventions spell in capitals inside camelCase names.
_ACRONYMS = {"eni": "ENI", "enis": "ENIs", "ip": "IP", "ips": "IPs", "cidr": "CIDR", "uid": "UID", "isp": "ISP"}


def hints(
    *,
    wire: str | None = None,
    description: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    pattern: str | None = None,
    fmt: str | None = None,
) -> dict[str, Any]:
    """Field metadata understood by the codec and the schema writer; use as ``field(metadata=hints(...))``.

    ``description`` is only needed when an attribute docstring cannot be written; ``fmt`` is an
    OpenAPI format (``ipv4``, ``cidr``, ``mac``, ``date-time``...).
    """
    given = {"wire": wire, "description": description, "minimum": minimum, "maximum": maximum,
             "pattern": pattern, "format": fmt}
    return {key: value for key, value in given.items() if value is not None}


def wire_name(field: dataclasses.Field[Any]) -> str:
    """The JSON key of a dataclass field.

    >>> from eni.api.v1.codec import camel_case
    >>> camel_case("max_ip_per_eni"), camel_case("in_use_ips"), camel_case("subnet_cidr")
    ('maxIPPerENI', 'inUseIPs', 'subnetCIDR')
    """
    override = field.metadata.get("wire")
    return override if isinstance(override, str) else camel_case(field.name)


def camel_case(snake: str) -> str:
    """snake_case -> camelCase, the first word always lower-case, acronyms of later words upper-case."""
    first, *rest = snake.split("_")
    return first + "".join(_ACRONYMS.get(word, word.capitalize()) for word in rest)


# ---- scalar formats -------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration (``90s``, ``5m``, ``1h30m``, ``1.5h``, ``0``); raise ValueError otherwise.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    text = text.strip()
    if text == "0":
        return timedelta(0)
    if not text or _DURATION_PART.sub("", text) != "":
        raise ValueError(f"{text!r} is not a duration such as 90s, 5m or 1h30m")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Go's Duration.String() for non-negative durations down to microseconds.

    >>> format_duration(timedelta(minutes=90)), format_duration(timedelta(seconds=30))
    ('1h30m0s', '30s')
    """
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError("negative durations are not used in this API")
    if micros == 0:
        return "0s"
    if micros < 1_000_000:
        return f"{micros / 1000:g}ms" if micros % 1000 == 0 else f"{micros}us"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = f"{rest / 1_000_000:.6f}".rstrip("0").rstrip(".")
    text = f"{seconds}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return text


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; raise ValueError otherwise."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; sub-second digits only when present (metav1.Time is seconds)."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; use an aware UTC datetime")
    value = value.astimezone(UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return value.strftime(pattern)


# ---- decoding -------------------------------------------------------------------------------


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations of a dataclass (cached: the classes are immutable definitions).

    Two threads racing to fill the cache compute the same value, so no lock is needed.
    """
    resolved = _FIELD_TYPES.get(cls)
    if resolved is None:
        resolved = _FIELD_TYPES[cls] = typing.get_type_hints(cls)
    return resolved


def decode(cls: type[Any], data: object, *, kind: str, path: str = "") -> Any:
    """Build the dataclass ``cls`` from its wire form; raise DecodeError with the JSON path on misfit."""
    if not isinstance(data, Mapping):
        raise DecodeError(kind=kind, path=path, problem=f"expected an object, got {_type_name(data)}")
    types_ = field_types(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        key = wire_name(field)
        here = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise DecodeError(kind=kind, path=here, problem="required field is missing")
            continue
        values[field.name] = decode_value(types_[field.name], data[key], kind=kind, path=here)
    return cls(**values)


def decode_value(tp: Any, value: object, *, kind: str, path: str) -> Any:
    """Decode one value of annotated type ``tp`` (see the module docstring for what is accepted)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if value is None:
            return None
        if len(members) != 1:
            raise TypeError(f"only `X | None` unions are supported, not {tp}")
        return decode_value(members[0], value, kind=kind, path=path)
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(kind=kind, path=path, problem=f"expected a list, got {_type_name(value)}")
        item_type = typing.get_args(tp)[0]
        return tuple(decode_value(item_type, item, kind=kind, path=f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise DecodeError(kind=kind, path=path, problem=f"expected an object, got {_type_name(value)}")
        value_type = typing.get_args(tp)[1]
        return {str(k): decode_value(value_type, v, kind=kind, path=f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return decode(typing.cast(type, tp), value, kind=kind, path=path)
    return _decode_scalar(tp, value, kind=kind, path=path)


def _decode_scalar(tp: Any, value: object, *, kind: str, path: str) -> Any:
    def wrong(expected: str) -> DecodeError:
        return DecodeError(kind=kind, path=path, problem=f"expected {expected}, got {_type_name(value)}")

    if tp is bool:
        if not isinstance(value, bool):
            raise wrong("a boolean")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number")
        return float(value)
    if not isinstance(value, str):
        raise wrong("a string")
    if tp is str:
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        allowed = [member.value for member in tp]
        if value not in allowed:
            raise DecodeError(kind=kind, path=path, problem=f"{value!r} is not one of {', '.join(allowed)}")
        return tp(value)
    try:
        if tp is datetime:
            return parse_time(value)
        if tp is timedelta:
            return parse_duration(value)
    except ValueError as e:
        raise DecodeError(kind=kind, path=path, problem=str(e)) from e
    raise TypeError(f"{path}: unsupported field type {tp!r}")


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# ---- encoding -------------------------------------------------------------------------------


def encode(obj: Any) -> dict[str, Any]:
    """The wire form of a dataclass instance; empty values are left out (see the module docstring)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(obj):
        value = encode_value(getattr(obj, field.name))
        if value is None or (isinstance(value, str | list | dict) and not value):
            continue
        out[wire_name(field)] = value
    return out


def encode_replacing(obj: Any) -> dict[str, Any]:
    """A JSON merge patch body that sets every field of ``obj``, clearing what is unset or empty.

    Unlike ``encode`` nothing is left out, because in a merge patch an absent key means "keep the old
    value": unset and empty scalars become ``null`` (delete), lists are written even when empty, and
    nested objects are replaced field by field in the same way. Maps are not cleared by this: the types
    only use them in metadata, which status patches never touch.
    """
    out: dict[str, Any] = {}
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[wire_name(field)] = encode_replacing(value)
        else:
            encoded = encode_value(value)
            out[wire_name(field)] = None if encoded == "" else encoded
    return out


def encode_value(value: object) -> Any:
    """The wire form of one value."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple | list):
        return [encode_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    raise ApiValueError(f"cannot encode a {type(value).__name__}")
