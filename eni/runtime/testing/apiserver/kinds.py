"""What the fake API server serves: resource types, the built-in kinds and the registry of both.

A :class:`ResourceType` is everything the server needs to know about one resource at one
group/version: its kind and names for discovery, its scope, its subresources, the field paths it
can be selected on, its printer columns and (for custom resources) its schema. Built-in kinds are
fixed here; custom resources are added and removed by the CRD logic. The registry is thread-safe
and never touches stored objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_METADATA_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """One column of the Table a ``kubectl get`` shows."""

    name: str
    type: str
    json_path: str
    priority: int = 0
    description: str = ""
    format: str = ""


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A resource as served at one group/version."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    builtin: bool = True
    selectable_fields: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    storage_version: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> str:
        """Identity of the stored collection, shared by every served version of one resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def selectable(self, path: str) -> bool:
        return path in _METADATA_FIELDS or path in self.selectable_fields


def _builtin(
    group: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool,
    short: tuple[str, ...] = (),
    status: bool = False,
    fields: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    version: str = "v1",
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        has_status=status,
        selectable_fields=fields,
    )


POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTINS: tuple[ResourceType, ...] = (
    _builtin("", "Namespace", "namespaces", namespaced=False, short=("ns",), status=True, fields=("status.phase",)),
    _builtin("", "Node", "nodes", namespaced=False, short=("no",), status=True, fields=("spec.unschedulable",)),
    _builtin("", "Pod", "pods", namespaced=True, short=("po",), status=True, fields=POD_FIELDS, categories=("all",)),
    _builtin("", "Event", "events", namespaced=True, short=("ev",), fields=EVENT_FIELDS),
    _builtin("", "ConfigMap", "configmaps", namespaced=True, short=("cm",)),
    _builtin("", "Secret", "secrets", namespaced=True, fields=("type",)),
    _builtin("", "Service", "services", namespaced=True, short=("svc",), status=True, categories=("all",)),
    _builtin("", "ServiceAccount", "serviceaccounts", namespaced=True, short=("sa",)),
    _builtin("coordination.k8s.io", "Lease", "leases", namespaced=True),
    _builtin("apps", "Deployment", "deployments", namespaced=True, short=("deploy",), status=True, categories=("all",)),
    _builtin("apps", "ReplicaSet", "replicasets", namespaced=True, short=("rs",), status=True, categories=("all",)),
    _builtin("apps", "StatefulSet", "statefulsets", namespaced=True, short=("sts",), status=True, categories=("all",)),
    _builtin("apps", "DaemonSet", "daemonsets", namespaced=True, short=("ds",), status=True, categories=("all",)),
    _builtin(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        status=True,
    ),
)

# Subresources other than status: resource plural -> (subresource, kind, verbs)
EXTRA_SUBRESOURCES: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "pods": (("binding", "Binding", ("create",)),),
}
# Create-only collections (POST /api/v1/namespaces/{ns}/bindings)
BINDINGS = _builtin("", "Binding", "bindings", namespaced=True)

PREFERRED_GROUP_ORDER = ("", "apps", "events.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io")


class Registry:
    """Thread-safe map of every served resource type."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_storage: dict[str, ResourceType] = {}
        for rt in BUILTINS:
            self._add(rt)

    def _add(self, rt: ResourceType) -> None:
        self._by_path[(rt.group, rt.version, rt.plural)] = rt
        if not rt.storage_version or rt.storage_version == rt.version:
            self._by_storage[rt.storage_key] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._by_path.get((group, version, plural))

    def storage_type(self, storage_key: str) -> ResourceType | None:
        with self._lock:
            return self._by_storage.get(storage_key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for rt in self._by_path.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        return None

    def replace_custom(self, storage_key: str, types: list[ResourceType]) -> None:
        """Serve exactly ``types`` for one custom resource (empty list: stop serving it)."""
        with self._lock:
            for key in [k for k, rt in self._by_path.items() if rt.storage_key == storage_key and not rt.builtin]:
                del self._by_path[key]
            self._by_storage.pop(storage_key, None)
            for rt in types:
                self._add(rt)

    def all_types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_path.values())

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first; built-in groups keep kube-apiserver's order."""
        with self._lock:
            groups: dict[str, list[str]] = {}
            for rt in self._by_path.values():
                versions = groups.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        order = {g: i for i, g in enumerate(PREFERRED_GROUP_ORDER)}
        return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def types_in(self, group: str, version: str) -> list[ResourceType]:
        with self._lock:
            return [rt for rt in self._by_path.values() if rt.group == group and rt.version == version]
