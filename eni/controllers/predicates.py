"""Which watch events are worth a node reconcile: changes made by others, not ipamd's own writes.

A NEC update matters when its spec, the user's annotations, the agent's report or its deletion
changed — not when only ipamd's ``status.enis``/conditions or its intent annotations did (ipamd
already acted on those). A Node update matters for its providerID, annotations and deletion, not
for kubelet heartbeats. A Pod update matters when its node, phase or deletion changed. Pure
functions; they never touch the API.
"""

from __future__ import annotations

from typing import Any

from eni.controllers.nec.intents import ANNOTATION_INTENT_SEQ, ANNOTATION_PENDING_ASSIGN, ANNOTATION_PENDING_ENI
from eni.runtime.meta import Obj
from eni.runtime.predicate import Funcs, Predicate

_IPAMD_ANNOTATIONS = (ANNOTATION_INTENT_SEQ, ANNOTATION_PENDING_ENI, ANNOTATION_PENDING_ASSIGN)


def _meta(obj: Obj) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _user_annotations(obj: Obj) -> dict[str, str]:
    return {k: v for k, v in (_meta(obj).get("annotations") or {}).items() if k not in _IPAMD_ANNOTATIONS}


def nec_changed_by_others(old: Obj, new: Obj) -> bool:
    return (old.get("spec") != new.get("spec") or _user_annotations(old) != _user_annotations(new)
            or (old.get("status") or {}).get("agent") != (new.get("status") or {}).get("agent")
            or _meta(old).get("deletionTimestamp") != _meta(new).get("deletionTimestamp"))


def node_changed(old: Obj, new: Obj) -> bool:
    return ((old.get("spec") or {}).get("providerID") != (new.get("spec") or {}).get("providerID")
            or _meta(old).get("annotations") != _meta(new).get("annotations")
            or _meta(old).get("deletionTimestamp") != _meta(new).get("deletionTimestamp"))


def pod_changed(old: Obj, new: Obj) -> bool:
    return ((old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get("nodeName")
            or (old.get("status") or {}).get("phase") != (new.get("status") or {}).get("phase")
            or _meta(old).get("deletionTimestamp") != _meta(new).get("deletionTimestamp"))


NEC_PREDICATE: Predicate = Funcs(update=nec_changed_by_others)
"""NEC creations pass: at a restart the initial list is how a NEC whose Node vanished meanwhile gets
its teardown (no Node event will ever come for it)."""
NODE_PREDICATE: Predicate = Funcs(update=node_changed)
POD_PREDICATE: Predicate = Funcs(update=pod_changed)
