"""What the EIP reconciler's parts share: the reads, the writes, the cloud, the Event sink, the settings.

``EventSink`` is the one method of ``eni.runtime.events.EventRecorder`` the controller needs, so tests
may pass the real recorder or any object with that method. Values and seams only; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from eni.api.v1 import EIP_CLAIM, EIPClaim
from eni.runtime.client.interfaces import Reader
from eni.runtime.events import NORMAL, WARNING
from eni.runtime.meta import POD, ResourceKind

from .claims import ClaimWriter
from .cloud import EipCloud
from .settings import EipSettings


class EventSink(Protocol):
    """Records an Event about an object; never blocks on the API and never raises."""

    def event(self, obj: Mapping[str, Any], *, reason: str, message: str, type: str = NORMAL,
              kind: ResourceKind | None = None) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    """The collaborators of one EIP controller."""

    reader: Reader
    """Pods, NodeENIConfigs and other claims (usually the informer cache)."""
    owners: Reader
    """Where the ReplicaSet behind a pod is read (ipamd: the informer cache, so list/watch suffice)."""
    writer: ClaimWriter
    cloud: EipCloud
    events: EventSink
    settings: EipSettings

    def pod_event(self, pod: Mapping[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        self.events.event(pod, reason=reason, message=message, type=WARNING if warning else NORMAL, kind=POD)

    def claim_event(self, claim: EIPClaim, reason: str, message: str, *, warning: bool = False) -> None:
        self.events.event(claim.to_dict(), reason=reason, message=message, type=WARNING if warning else NORMAL,
                          kind=EIP_CLAIM)
