"""Cloud intents recorded on the NodeENIConfig before the cloud call, so a restart resumes them.

ipamd writes a pending intent (``create ENI in subnet S`` or ``assign N IPs to ENI E``) into an
annotation of the node's NEC *before* it calls the cloud, with the adapter's idempotency intent
(the ClientToken) derived from it. After a crash the next leader finds the annotation, repeats the
call with the same intent — the cloud returns the resources of the first call instead of new ones —
records them (VpcENI / VpcIP) and only then clears the annotation. Values and (de)serialisation only;
this module must never call the API or the cloud.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eni.api.v1.constants import PREFIX

ANNOTATION_INTENT_SEQ = PREFIX + "ipamd-intent-seq"
ANNOTATION_PENDING_ENI = PREFIX + "ipamd-pending-eni"
ANNOTATION_PENDING_ASSIGN = PREFIX + "ipamd-pending-assign"


@dataclass(frozen=True, slots=True)
class PendingEni:
    """Create (or find again) the ENI of ``intent`` in ``subnet_id``, with ``ip_count`` secondary IPs."""

    intent: str
    subnet_id: str
    ip_count: int = 0
    direct: bool = False
    """An exclusive ENI: attached as an extension ENI, recorded with ``spec.type: direct``."""
    owner: str = ""
    """Static-IP mode, exclusive ENI: ``namespace/name`` of the pod it is created for."""


@dataclass(frozen=True, slots=True)
class PendingAssign:
    """Assign (or find again) the ``count`` IPs of ``intent`` on ``eni_id``."""

    intent: str
    eni_id: str
    count: int


def next_intent(nec_uid: str, annotations: Mapping[str, str], what: str) -> tuple[str, dict[str, str]]:
    """A never-reused intent for this NEC and the annotation update that reserves it."""
    try:
        seq = int(annotations.get(ANNOTATION_INTENT_SEQ, "0")) + 1
    except ValueError:
        seq = 1
    intent = f"{nec_uid}/{what}/{seq}"
    return intent, {ANNOTATION_INTENT_SEQ: str(seq)}


def pending_eni(annotations: Mapping[str, str]) -> PendingEni | None:
    raw = _load(annotations, ANNOTATION_PENDING_ENI)
    if raw is None:
        return None
    try:
        return PendingEni(intent=str(raw["intent"]), subnet_id=str(raw["subnetId"]),
                          ip_count=int(raw.get("ipCount") or 0), direct=raw.get("type") == "direct",
                          owner=str(raw.get("owner") or ""))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def pending_assign(annotations: Mapping[str, str]) -> PendingAssign | None:
    raw = _load(annotations, ANNOTATION_PENDING_ASSIGN)
    if raw is None:
        return None
    try:
        return PendingAssign(intent=str(raw["intent"]), eni_id=str(raw["eniId"]), count=int(raw["count"]))
    except (KeyError, TypeError, ValueError):
        return None


def eni_annotation(pending: PendingEni | None) -> dict[str, str | None]:
    """The annotation update that records (or with None clears) a pending ENI creation."""
    fields: dict[str, Any] = {} if pending is None else {"intent": pending.intent, "subnetId": pending.subnet_id}
    if pending is not None and pending.ip_count:
        fields["ipCount"] = pending.ip_count
    if pending is not None and pending.direct:
        fields["type"] = "direct"
    if pending is not None and pending.owner:
        fields["owner"] = pending.owner
    value = None if pending is None else json.dumps(fields)
    return {ANNOTATION_PENDING_ENI: value}


def assign_annotation(pending: PendingAssign | None) -> dict[str, str | None]:
    """The annotation update that records (or with None clears) a pending IP assignment."""
    value = None if pending is None else json.dumps(
        {"intent": pending.intent, "eniId": pending.eni_id, "count": pending.count})
    return {ANNOTATION_PENDING_ASSIGN: value}


def _load(annotations: Mapping[str, str], key: str) -> Any:
    text = annotations.get(key)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
