"""Object validation shared by every kind: names, metadata, and the few built-in rules we enforce.

It reproduces the checks that make kube-apiserver answer 422 Invalid (names that are not DNS
subdomains, missing names, malformed labels, owner references without uid, a pod without
containers, a kind that does not belong to the URL...) and returns field causes; it never
raises and never mutates. Schema checks of custom resources live in ``schema.py``.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Cause
from .kinds import ResourceType

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# Names that only need to be valid path segments (kube-apiserver's ValidatePathSegmentName).
_PATH_SEGMENT_KINDS = {"Event"}


def is_dns_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


def is_dns_label(name: str) -> bool:
    return len(name) <= 63 and bool(_DNS1123_LABEL.match(name))


def _invalid(field: str, value: Any, why: str) -> Cause:
    return Cause("FieldValueInvalid", f'Invalid value: "{value}": {why}', field)


def validate_name(rt: ResourceType, name: str) -> list[Cause]:
    if rt.kind in _PATH_SEGMENT_KINDS:
        bad = name in (".", "..") or "/" in name or "%" in name
        return [_invalid("metadata.name", name, "may not contain '/' or '%'")] if bad else []
    if rt.kind == "Namespace":
        return [] if is_dns_label(name) else [_invalid("metadata.name", name, LABEL_MESSAGE)]
    return [] if is_dns_subdomain(name) else [_invalid("metadata.name", name, SUBDOMAIN_MESSAGE)]


def _validate_labels(labels: Any, field: str) -> list[Cause]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [_invalid(field, labels, "must be a map of strings")]
    causes = []
    for key, value in labels.items():
        if not isinstance(key, str) or len(key) > 316 or not _QUALIFIED_NAME.match(key):
            causes.append(_invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.'"))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                _invalid(
                    f"{field}",
                    value,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character",
                )
            )
    return causes


def _validate_annotations(annotations: Any) -> list[Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [_invalid("metadata.annotations", annotations, "must be a map of strings")]
    causes = []
    for key, value in annotations.items():
        if not isinstance(key, str) or not _QUALIFIED_NAME.match(key):
            causes.append(
                _invalid(
                    "metadata.annotations", key, "name part must consist of alphanumeric characters, '-', '_' or '.'"
                )
            )
        if not isinstance(value, str):
            causes.append(_invalid(f"metadata.annotations.{key}", value, "must be a string"))
    return causes


def _validate_owner_references(refs: Any) -> list[Cause]:
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [_invalid("metadata.ownerReferences", refs, "must be a list")]
    causes = []
    controllers = 0
    for i, ref in enumerate(refs):
        field = f"metadata.ownerReferences[{i}]"
        if not isinstance(ref, dict):
            causes.append(_invalid(field, ref, "must be an object"))
            continue
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                causes.append(Cause("FieldValueRequired", f"Required value: {key} must not be empty", f"{field}.{key}"))
        controllers += 1 if ref.get("controller") is True else 0
    if controllers > 1:
        causes.append(_invalid("metadata.ownerReferences", refs, "Only one reference can have Controller set to true"))
    return causes


def _validate_finalizers(finalizers: Any) -> list[Cause]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        return [_invalid("metadata.finalizers", finalizers, "must be a list of strings")]
    return [
        _invalid("metadata.finalizers", f, "name part must consist of alphanumeric characters")
        for f in finalizers
        if not _QUALIFIED_NAME.match(f)
    ]


def validate_metadata(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [Cause("FieldValueRequired", "Required value", "metadata")]
    causes: list[Cause] = []
    for field, kind in (("generateName", str), ("namespace", str), ("labels", dict), ("annotations", dict)):
        if field in meta and meta[field] is not None and not isinstance(meta[field], kind):
            causes.append(_invalid(f"metadata.{field}", meta[field], f"must be a {'string' if kind is str else 'map'}"))
    if causes:
        return causes
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(Cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name"))
    else:
        causes.extend(validate_name(rt, name))
    causes.extend(_validate_labels(meta.get("labels"), "metadata.labels"))
    causes.extend(_validate_annotations(meta.get("annotations")))
    causes.extend(_validate_owner_references(meta.get("ownerReferences")))
    causes.extend(_validate_finalizers(meta.get("finalizers")))
    return causes


def validate_type_meta(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    """The body's kind/apiVersion must name the resource of the URL (absent ones are defaulted)."""
    causes = []
    kind = obj.get("kind")
    if kind not in (None, "", rt.kind):
        causes.append(Cause("FieldValueInvalid", f'Invalid value: "{kind}": must be {rt.kind}', "kind"))
    api_version = obj.get("apiVersion")
    if api_version not in (None, "", rt.api_version):
        causes.append(
            Cause("FieldValueInvalid", f'Invalid value: "{api_version}": must be {rt.api_version}', "apiVersion")
        )
    return causes


def validate_builtin(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    """The handful of per-kind rules clients here can trip over."""
    if not rt.builtin:
        return []
    shapes = [f for f in ("spec", "status") if f in obj and obj[f] is not None and not isinstance(obj[f], dict)]
    if shapes:
        return [_invalid(f, obj[f], "must be an object") for f in shapes]
    if rt.kind == "Pod":
        containers = (obj.get("spec") or {}).get("containers")
        if not isinstance(containers, list) or not containers:
            return [Cause("FieldValueRequired", "Required value", "spec.containers")]
        causes = []
        for i, c in enumerate(containers):
            if not isinstance(c, dict) or not c.get("name"):
                causes.append(Cause("FieldValueRequired", "Required value", f"spec.containers[{i}].name"))
            elif not c.get("image"):
                causes.append(Cause("FieldValueRequired", "Required value", f"spec.containers[{i}].image"))
        return causes
    if rt.kind == "Lease":
        spec = obj.get("spec") or {}
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            return [_invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")]
    return []
