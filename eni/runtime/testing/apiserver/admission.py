"""What happens to a write before it is committed: normalization, validation, merging with the current object.

These are the rules of kube-apiserver's request path that need no stored state beyond the object
being replaced: the body's kind/apiVersion/namespace must fit the URL; custom resources are
validated, pruned and defaulted by their schema; status writes only change status and main writes
never do; server-managed metadata is immutable; no finalizer may be added once deletion has
started. Pure functions: they raise StatusError or return new objects, and never touch the store.
"""

from __future__ import annotations

import copy
from typing import Any

from . import crd as crds
from . import errors
from .kinds import ResourceType
from .schema import validate_and_prune
from .validation import validate_builtin, validate_metadata, validate_type_meta

IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def subject(rt: ResourceType, name: str) -> errors.Subject:
    return errors.Subject(resource=rt.plural, group=rt.group, kind=rt.kind, name=name)


def is_crd(rt: ResourceType) -> bool:
    return rt.builtin and rt.kind == "CustomResourceDefinition"


def normalize(rt: ResourceType, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[errors.Cause]]:
    """A private copy of ``body`` with kind, apiVersion and namespace set from the URL, plus mismatch causes."""
    obj = copy.deepcopy(body)
    causes = validate_type_meta(rt, obj)
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        cause = errors.Cause("FieldValueInvalid", "Invalid value: must be an object", "metadata")
        raise errors.invalid(subject(rt, ""), [cause])
    obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
    if rt.namespaced:
        if meta.get("namespace") not in (None, "", namespace):
            why = f'Invalid value: "{meta["namespace"]}": does not match the namespace "{namespace}" of the request'
            causes.append(errors.Cause("FieldValueInvalid", why, "metadata.namespace"))
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    return obj, causes


def validate(rt: ResourceType, obj: dict[str, Any], causes: list[errors.Cause]) -> dict[str, Any]:
    """The object as it may be stored (pruned and defaulted for custom resources), or 422 Invalid."""
    if not rt.builtin:
        obj, schema_causes = validate_and_prune(obj, rt.schema)
        causes = causes + schema_causes
    causes = causes + validate_metadata(rt, obj) + validate_builtin(rt, obj)
    if is_crd(rt):
        causes = causes + crds.validate_crd(obj)
    if causes:
        raise errors.invalid(subject(rt, (obj.get("metadata") or {}).get("name") or ""), causes)
    return obj


def merge_with_current(
    rt: ResourceType, current: dict[str, Any], obj: dict[str, Any], *, subresource: str
) -> dict[str, Any]:
    """Status writes change only status; main writes keep status and server-managed metadata."""
    if subresource == "status":
        merged = copy.deepcopy(current)
        if "status" in obj:
            merged["status"] = obj["status"]
        else:
            merged.pop("status", None)
        return merged
    if rt.has_status:
        if "status" in current:
            obj["status"] = copy.deepcopy(current["status"])
        else:
            obj.pop("status", None)
    for field in IMMUTABLE_META:
        if field in current["metadata"]:
            obj["metadata"][field] = current["metadata"][field]
        else:
            obj["metadata"].pop(field, None)
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return obj


def check_finalizers_while_deleting(rt: ResourceType, current: dict[str, Any], obj: dict[str, Any]) -> None:
    if not current["metadata"].get("deletionTimestamp"):
        return
    added = set(obj["metadata"].get("finalizers") or []) - set(current["metadata"].get("finalizers") or [])
    if added:
        why = (
            "Forbidden: no new finalizers can be added if the object is being deleted, "
            f"found new finalizers {sorted(added)}"
        )
        cause = errors.Cause("FieldValueForbidden", why, "metadata.finalizers")
        raise errors.invalid(subject(rt, current["metadata"]["name"]), [cause])
