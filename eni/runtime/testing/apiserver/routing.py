"""Parsing request paths into what they address, the way kube-apiserver's request-info resolver does.

``/api/v1/namespaces/ns/pods/name/status`` becomes group "", version "v1", namespace "ns",
resource "pods", name "name", subresource "status". The legacy ``/watch/`` prefix is recognised.
Paths that are not resource paths (discovery, version, OpenAPI) are left to the caller. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True, slots=True)
class ResourcePath:
    group: str
    version: str
    namespace: str
    resource: str
    name: str = ""
    subresource: str = ""
    watch_prefix: bool = False


def parse_resource_path(path: str) -> ResourcePath | None:
    """The resource a path addresses, or None for non-resource or too-short paths.

    >>> route = parse_resource_path("/api/v1/namespaces/default/pods/web/status")
    >>> route.namespace, route.resource, route.name, route.subresource
    ('default', 'pods', 'web', 'status')
    >>> parse_resource_path("/apis/apps/v1/watch/namespaces/x/deployments").watch_prefix
    True
    >>> parse_resource_path("/api/v1/namespaces/default").name
    'default'
    """
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch_prefix = False
    if rest and rest[0] == "watch":
        watch_prefix, rest = True, rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return ResourcePath(
        group=group,
        version=version,
        namespace=namespace,
        resource=rest[0],
        name=rest[1] if len(rest) > 1 else "",
        subresource=rest[2] if len(rest) > 2 else "",
        watch_prefix=watch_prefix,
    )
