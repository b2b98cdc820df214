"""OpenAPI v3 documents, just enough for kubectl's field-validation probe.

kubectl 1.32 refuses ``apply``/``create`` with its default ``--validate=strict`` unless it can
download OpenAPI: it reads ``/openapi/v3``, fetches the group/version document and looks for a
PATCH operation of the object's kind (``x-kubernetes-group-version-kind``) that takes the
``fieldValidation`` query parameter. We describe every served resource that way (with
schemas for custom resources only, enough for ``kubectl explain`` and for kubectl's apply patches of
custom resources); built-in kinds are patched from kubectl's compiled-in types. ``/openapi/v2`` stays 404,
which kubectl tolerates once v3 is present. Pure functions of the registry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .kinds import Registry, ResourceType

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {
            "type": "array",
            "items": {"type": "string", "default": ""},
            "x-kubernetes-list-type": "set",
            "x-kubernetes-patch-strategy": "merge",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-map-type": "atomic"},
            "x-kubernetes-list-map-keys": ["uid"],
            "x-kubernetes-list-type": "map",
            "x-kubernetes-patch-merge-key": "uid",
            "x-kubernetes-patch-strategy": "merge",
        },
    },
}
_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty", "force")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _paths(rt: ResourceType) -> dict[str, Any]:
    prefix = "/" + _gv_path(rt.group, rt.version)
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    params = [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for p in _QUERY_PARAMS]
    # kubectl apply sends a strategic merge patch exactly when the PATCH operation accepts one,
    # which the real server declares for built-in kinds only.
    patch_types = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    if rt.builtin:
        patch_types.append("application/strategic-merge-patch+json")
    content = {ct: {"schema": {"type": "object"}} for ct in patch_types}

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
    schemas: dict[str, Any] = {}
    for rt in sorted(types, key=lambda t: t.plural):
        paths.update(_paths(rt))
        if rt.schema:
            schemas[_schema_name(rt)] = _schema(rt)
            schemas[OBJECT_META] = _OBJECT_META_SCHEMA
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _schema_name(rt: ResourceType) -> str:
    return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"


def _schema(rt: ResourceType) -> dict[str, Any]:
    """A custom resource's schema as ``kubectl explain`` finds it: tagged with its group/version/kind."""
    schema: dict[str, Any] = json.loads(json.dumps(rt.schema))
    properties = schema.setdefault("properties", {})
    properties.setdefault(
        "apiVersion",
        {
            "type": "string",
            "description": "APIVersion defines the versioned schema of this representation of an object.",
        },
    )
    properties.setdefault(
        "kind",
        {
            "type": "string",
            "description": "Kind is a string value representing the REST resource this object represents.",
        },
    )
    properties["metadata"] = {
        "allOf": [{"$ref": f"#/components/schemas/{OBJECT_META}"}],
        "description": "Standard object's metadata.",
    }
    schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
    return schema


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
