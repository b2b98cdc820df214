"""The client seams reconcilers depend on: Reader, Writer, and Client (both).

``KubeClient`` implements them over HTTP and ``eni.runtime.testing.FakeClient`` in memory. Objects are plain
decoded JSON dicts. Contract for every implementation: methods are thread-safe; failures raise the typed errors
of ``eni.runtime.client.errors`` (NotFoundError, ConflictError, ...); returned objects belong to the caller,
while objects passed in are never mutated.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eni.runtime.meta import Obj, ObjectKey, ResourceKind


class PatchType(enum.Enum):
    """Patch flavours and their Content-Type."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


class PropagationPolicy(enum.Enum):
    """What happens to dependents (ownerReferences) of a deleted object."""

    ORPHAN = "Orphan"
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"


@dataclass(frozen=True, slots=True)
class Preconditions:
    """A delete only happens if the object still has this uid / resourceVersion (409 Conflict otherwise)."""

    uid: str | None = None
    resource_version: str | None = None


class Reader(Protocol):
    """Reads objects."""

    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj:
        """The object, or NotFoundError."""
        ...

    def list(
        self, kind: ResourceKind, *, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        """Every matching object (in ``namespace`` when given)."""
        ...


class Writer(Protocol):
    """Writes objects; writes carrying ``metadata.resourceVersion`` are optimistic (ConflictError when stale)."""

    def create(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj: ...

    def update(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        """Replace the object (not its status)."""
        ...

    def update_status(self, kind: ResourceKind, obj: Mapping[str, Any]) -> Obj:
        """Replace the status subresource only."""
        ...

    def patch(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str = "",
    ) -> Obj: ...

    def delete(
        self,
        kind: ResourceKind,
        key: ObjectKey,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
    ) -> None:
        """Delete the object; NotFoundError when it is already gone."""
        ...


class Client(Reader, Writer, Protocol):
    """Reads and writes."""
