"""OpenAPI v3 documents, just enough for kubectl's field-validation probe.

kubectl 1.32 refuses ``apply``/``create`` with its default ``--validate=strict`` unless it can
download OpenAPI: it reads ``/openapi/v3``, fetches the group/version document and looks for a
PATCH operation of the object's kind (``x-kubernetes-group-version-kind``) that takes the
``fieldValidation`` query parameter. We describe every served resource that way, without
schemas; kubectl then validates on the server side and computes apply patches from its built-in
types (built-in kinds) or as JSON merge patches (custom resources). ``/openapi/v2`` stays 404,
which kubectl tolerates once v3 is present. Pure functions of the registry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .kinds import Registry, ResourceType

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty", "force")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _paths(rt: ResourceType) -> dict[str, Any]:
    prefix = "/" + _gv_path(rt.group, rt.version)
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    params = [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for p in _QUERY_PARAMS]
    content = {
        ct: {"schema": {"type": "object"}}
        for ct in (
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        )
    }

    def operation(verb: str, action: str) -> dict[str, Any]:
        return {
            "operationId": f"{verb}{rt.kind}",
            "parameters": params,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }

    item: dict[str, Any] = {
        "get": operation("read", "get"),
        "put": operation("replace", "put"),
        "delete": operation("delete", "delete"),
    }
    item["patch"] = dict(operation("patch", "patch"), requestBody={"content": content, "required": True})
    paths = {
        f"{prefix}{scope}/{rt.plural}/{{name}}": item,
        f"{prefix}{scope}/{rt.plural}": {"get": operation("list", "list"), "post": operation("create", "post")},
    }
    if rt.has_status:
        status = {"get": operation("read", "get"), "put": operation("replace", "put")}
        status["patch"] = dict(operation("patch", "patch"), requestBody={"content": content, "required": True})
        paths[f"{prefix}{scope}/{rt.plural}/{{name}}/status"] = status
    return paths


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.types_in(group, version)
    if not types:
        return None
    paths: dict[str, Any] = {}
    for rt in sorted(types, key=lambda t: t.plural):
        paths.update(_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def root_document(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            doc = group_version_document(registry, group, version)
            if doc is not None:
                gv = _gv_path(group, version)
                paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_hash(doc)}"}
    return {"paths": paths}


def document(registry: Registry, path: str, query: dict[str, str]) -> bytes | None:
    """The OpenAPI document at ``path`` (under /openapi/), or None for 404."""
    parts = [p for p in path.split("/") if p]
    doc: dict[str, Any] | None = None
    if parts == ["openapi", "v3"]:
        doc = root_document(registry)
    elif len(parts) == 4 and parts[:3] == ["openapi", "v3", "api"]:
        doc = group_version_document(registry, "", parts[3])
    elif len(parts) == 5 and parts[:3] == ["openapi", "v3", "apis"]:
        doc = group_version_document(registry, parts[3], parts[4])
    return json.dumps(doc).encode() if doc is not None else None
