"""What every kind shares: the object shell (apiVersion, kind, metadata, spec, status) and its CRD facts.

A kind is a frozen dataclass ``Kind(metadata, spec, status)`` that inherits ``CustomObject`` and
sets two class attributes: ``RESOURCE`` (where it is served) and ``PRINTER_COLUMNS`` (what
``kubectl get`` shows); its docstring becomes the CRD's description.
``CustomObject`` supplies ``from_dict``/``to_dict`` through the codec, so kinds hold no
serialisation code of their own.
This module must never import anything outside the standard library and ``eni.runtime.meta``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from eni.runtime.meta import ObjectKey, ResourceKind

from .codec import decode, encode, encode_replacing, field_types
from .errors import DecodeError
from .objectmeta import ObjectMeta


@dataclass(frozen=True, slots=True, kw_only=True)
class PrinterColumn:
    """A column of ``kubectl get``: its JSONPath is relative to the object (``.status.phase``)."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    """0 shows in the standard view; higher only with ``-o wide``."""


AGE_COLUMN = PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp")


class CustomObject:
    """Base of the kinds: conversion to and from the wire, and identity helpers.

    Subclasses are frozen dataclasses with the fields ``metadata``, ``spec`` and ``status``.
    """

    __slots__ = ()

    RESOURCE: ClassVar[ResourceKind]
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = ()

    metadata: ObjectMeta
    status: Any

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Self:
        """Decode an object as the API server returns it; raise DecodeError naming the bad field.

        ``apiVersion`` and ``kind`` may be absent (a list item) but must match when present.
        """
        kind = cls.RESOURCE.kind
        if not isinstance(obj, Mapping):
            raise DecodeError(kind=kind, path="", problem=f"expected an object, got {type(obj).__name__}")
        for key, expected in (("apiVersion", cls.RESOURCE.api_version), ("kind", kind)):
            if key in obj and obj[key] != expected:
                raise DecodeError(kind=kind, path=key, problem=f"expected {expected!r}, got {obj[key]!r}")
        result: Self = decode(cls, obj, kind=kind)
        return result

    def to_dict(self) -> dict[str, Any]:
        """The full object (apiVersion, kind, metadata, spec and, when not empty, status)."""
        body = encode(self)
        out: dict[str, Any] = {"apiVersion": self.RESOURCE.api_version, "kind": self.RESOURCE.kind}
        out["metadata"] = body.get("metadata", {})
        out["spec"] = body.get("spec", {})
        if body.get("status"):
            out["status"] = body["status"]
        return out

    def status_patch(self) -> dict[str, Any]:
        """A JSON merge patch for the status subresource that makes the stored status equal this one.

        Every field is written or nulled (see ``codec.encode_replacing``), so stale values never survive.
        """
        return {"status": encode_replacing(self.status)}

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def key(self) -> ObjectKey:
        """The cache/queue key of this object."""
        return ObjectKey(namespace=self.metadata.namespace if self.RESOURCE.namespaced else "",
                         name=self.metadata.name)


def part_type(kind_class: type[CustomObject], part: str) -> type:
    """The dataclass of a kind's ``spec`` or ``status``."""
    tp = field_types(kind_class)[part]
    if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        raise TypeError(f"{kind_class.__name__}.{part} is not a dataclass")
    return tp
