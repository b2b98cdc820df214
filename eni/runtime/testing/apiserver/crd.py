"""CustomResourceDefinitions: validating them and turning them into served resource types.

Posting a CRD makes its resources servable at once (the real server takes a moment; clients never
rely on that). The CRD's status is filled here with the conditions and accepted names kubectl and
controllers look at. These functions are pure: the store decides when to call them.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Cause
from .kinds import PrinterColumn, ResourceType

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def validate_crd(crd: dict[str, Any]) -> list[Cause]:
    """Field causes for a CRD the real server would reject (names, scope, versions)."""
    causes: list[Cause] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [Cause("FieldValueRequired", "Required value", "spec")]
    names: dict[str, Any] = spec["names"] if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group")
    plural = names.get("plural")
    if not isinstance(group, str) or "." not in group:
        causes.append(
            Cause(
                "FieldValueInvalid", f'Invalid value: "{group}": should be a domain with at least one dot', "spec.group"
            )
        )
    if not isinstance(plural, str) or not _DNS_LABEL.match(plural):
        causes.append(Cause("FieldValueRequired", "Required value", "spec.names.plural"))
    if not isinstance(names.get("kind"), str) or not _KIND.match(names.get("kind", "")):
        causes.append(Cause("FieldValueRequired", "Required value", "spec.names.kind"))
    name = (crd.get("metadata") or {}).get("name")
    if isinstance(plural, str) and isinstance(group, str) and name != f"{plural}.{group}":
        causes.append(
            Cause(
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                "metadata.name",
            )
        )
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        causes.append(
            Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"',
                "spec.scope",
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions or not all(isinstance(v, dict) for v in versions):
        causes.append(Cause("FieldValueRequired", "Required value", "spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            Cause(
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
                "spec.versions",
            )
        )
    return causes


def _columns(version: dict[str, Any]) -> tuple[PrinterColumn, ...]:
    return tuple(
        PrinterColumn(
            name=str(c.get("name", "")),
            type=str(c.get("type", "string")),
            json_path=str(c.get("jsonPath", "")),
            priority=int(c.get("priority", 0) or 0),
            description=str(c.get("description", "")),
            format=str(c.get("format", "")),
        )
        for c in version.get("additionalPrinterColumns") or []
        if isinstance(c, dict)
    )


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a valid CRD."""
    spec = crd["spec"]
    names = spec["names"]
    versions = [v for v in spec["versions"] if v.get("served", True)]
    storage = next((v["name"] for v in spec["versions"] if v.get("storage")), versions[0]["name"])
    out = []
    for version in versions:
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
        selectable = tuple(
            str(f.get("jsonPath", "")).lstrip(".") for f in version.get("selectableFields") or [] if isinstance(f, dict)
        )
        out.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec["scope"] == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                has_status="status" in (version.get("subresources") or {}),
                builtin=False,
                selectable_fields=selectable,
                printer_columns=_columns(version),
                schema=schema,
                storage_version=storage,
            )
        )
    return out


def storage_key(crd: dict[str, Any]) -> str:
    return f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"


def with_status(crd: dict[str, Any], now: str, *, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CRD with the status an established CRD reports (keeping ``previous`` conditions, so re-applying
    an unchanged CRD is a no-op)."""
    spec = crd["spec"]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True",
            "reason": "NoConflicts",
            "message": "no conflicts found",
            "lastTransitionTime": now,
        },
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
            "lastTransitionTime": now,
        },
    ]
    out = dict(crd)
    out["spec"] = dict(spec, names=names)
    if previous and isinstance(previous.get("conditions"), list):
        conditions = previous["conditions"]
    out["status"] = {
        "acceptedNames": names,
        "conditions": conditions,
        "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
    }
    return out
