"""Decoding the Kubernetes protobuf encoding for the few kinds kubectl creates through typed clients.

``kubectl create namespace|configmap|secret|serviceaccount`` post
``application/vnd.kubernetes.protobuf`` bodies: the magic ``k8s\\0`` followed by a
``runtime.Unknown`` envelope whose ``raw`` field holds the object. We decode those kinds into the
same JSON the server would store, with a small wire-format reader and the field numbers of
k8s.io/api's generated.proto. Any other kind, or a malformed body, raises ValueError (the caller
answers 415 or 400). Zero values are dropped, as Go's encoder writes every optional field.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

# A schema maps field number -> (json name, kind); kind is a scalar name or a nested schema.
Schema = dict[int, tuple[str, Any]]
_OWNER_REFERENCE: Schema = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    7: ("generation", "int"),
    11: ("labels", "map<string,string>"),
    12: ("annotations", "map<string,string>"),
    13: ("ownerReferences", ("repeated", _OWNER_REFERENCE)),
    14: ("finalizers", "repeated string"),
}
_OBJECT_REFERENCE: Schema = {
    1: ("kind", "string"),
    2: ("namespace", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
}
KINDS: dict[str, Schema] = {
    "Namespace": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("finalizers", "repeated string")}),
    },
    "ConfigMap": {
        1: ("metadata", _OBJECT_META),
        2: ("data", "map<string,string>"),
        3: ("binaryData", "map<string,bytes>"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", _OBJECT_META),
        2: ("data", "map<string,bytes>"),
        3: ("type", "string"),
        4: ("stringData", "map<string,string>"),
        5: ("immutable", "bool"),
    },
    "ServiceAccount": {
        1: ("metadata", _OBJECT_META),
        2: ("secrets", ("repeated", _OBJECT_REFERENCE)),
        3: ("imagePullSecrets", ("repeated", {1: ("name", "string")})),
        4: ("automountServiceAccountToken", "bool"),
    },
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, varint value or length-delimited bytes) in wire order."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _map_entry(value: bytes, *, as_bytes: bool) -> tuple[str, str]:
    entry = dict(fields(value))
    key, item = entry.get(1, b""), entry.get(2, b"")
    if not isinstance(key, bytes) or not isinstance(item, bytes):
        raise ValueError("malformed map entry")
    return key.decode(), base64.b64encode(item).decode() if as_bytes else item.decode()


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict) and isinstance(value, bytes):
            nested = decode_message(value, kind)
            if nested:
                out[name] = nested
        elif isinstance(kind, tuple) and isinstance(value, bytes):
            out.setdefault(name, []).append(decode_message(value, kind[1]))
        elif kind.startswith("map<") and isinstance(value, bytes):
            key, item = _map_entry(value, as_bytes=kind.endswith("bytes>"))
            out.setdefault(name, {})[key] = item
        elif kind == "repeated string" and isinstance(value, bytes):
            out.setdefault(name, []).append(value.decode())
        elif kind == "string" and isinstance(value, bytes):
            if value:
                out[name] = value.decode()
        elif kind in ("int", "bool") and isinstance(value, int):
            if value:
                out[name] = bool(value) if kind == "bool" else value
        else:
            raise ValueError(f"field {name} has the wrong wire type")
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object of one of ``KINDS``."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf message (missing magic prefix)")
    try:
        envelope = dict(fields(body[len(MAGIC) :]))
        type_meta = dict(fields(envelope.get(1, b"")))  # type: ignore[arg-type]
        api_version = type_meta.get(1, b"")
        kind = type_meta.get(2, b"")
        raw = envelope.get(2, b"")
        if not isinstance(api_version, bytes) or not isinstance(kind, bytes) or not isinstance(raw, bytes):
            raise ValueError("malformed envelope")
        schema = KINDS.get(kind.decode())
        if schema is None:
            raise LookupError(kind.decode())
        obj = decode_message(raw, schema)
    except UnicodeDecodeError as e:
        raise ValueError(f"invalid UTF-8 in protobuf message: {e}") from e
    return {"apiVersion": api_version.decode(), "kind": kind.decode(), **obj}
