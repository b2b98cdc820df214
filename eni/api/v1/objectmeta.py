"""Typed values shared by every kind: object metadata, references and conditions.

``ObjectMeta`` keeps the metadata fields the controllers act on (identity, optimistic
concurrency, labels, annotations, finalizers, owners); bookkeeping the server adds
(``managedFields`` and the like) is dropped on decode and therefore never written back.
This module must never import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .codec import hints
from .enums import ConditionStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerReference:
    """An owner of an object; the garbage collector deletes the object after its controller owner."""

    api_version: str
    """API group and version of the owner, e.g. ``apps/v1``."""
    kind: str
    """Kind of the owner, e.g. ``StatefulSet``."""
    name: str
    """Name of the owner (same namespace as the object)."""
    uid: str
    """UID of the owner; a reference to a re-created owner of the same name does not match."""
    controller: bool | None = None
    """True for the one managing controller."""
    block_owner_deletion: bool | None = None
    """With foreground deletion, the owner waits for this object to be gone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectMeta:
    """The metadata of an object, as the API server stores it."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    owner_references: tuple[OwnerReference, ...] = ()
    generate_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectReference:
    """A namespaced object known by namespace, name and UID (a pod, or a claim)."""

    namespace: str
    """Namespace of the referenced object."""
    name: str
    """Name of the referenced object."""
    uid: str = ""
    """UID of the referenced object; distinguishes it from a later object with the same name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One aspect of an object's state, with the same shape as metav1.Condition."""

    type: str
    """CamelCase name of the aspect, e.g. ``Ready`` or ``ENILimitReached``."""
    status: ConditionStatus
    """Whether the aspect holds: True, False or Unknown."""
    reason: str = ""
    """CamelCase machine-readable reason for the last transition."""
    message: str = ""
    """Human-readable details of the last transition."""
    last_transition_time: datetime | None = field(default=None, metadata=hints(fmt="date-time"))
    """When the status last changed."""
    observed_generation: int | None = field(default=None, metadata=hints(minimum=0))
    """The metadata.generation the condition was computed from."""
