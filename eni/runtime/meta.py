"""Identity of Kubernetes resources and objects: our small "apimachinery".

A ResourceKind says where a kind is served (group, version, plural, scope); an ObjectKey names one
object. Both are plain values so that caches, queues and clients can share them across threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """Where a kind is served by the API server.

    >>> ResourceKind(group="", version="v1", kind="Pod", plural="pods", namespaced=True).api_version
    'v1'
    >>> NEC = ResourceKind(group="networking.tke.cloud.tencent.com", version="v1",
    ...                    kind="NodeENIConfig", plural="nodeeniconfigs", namespaced=False)
    >>> NEC.api_version
    'networking.tke.cloud.tencent.com/v1'
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str = "") -> str:
        """The REST path of the collection, in a namespace when one is given and the kind is namespaced.

        >>> ResourceKind(group="", version="v1", kind="Pod", plural="pods", namespaced=True
        ...              ).collection_path("default")
        '/api/v1/namespaces/default/pods'
        """
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def object_path(self, name: str, namespace: str = "") -> str:
        return f"{self.collection_path(namespace)}/{name}"


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """The name of one object; namespace is "" for cluster-scoped kinds."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def parse(cls, key: str) -> ObjectKey:
        """Inverse of str(): "ns/name" or "name".

        >>> ObjectKey.parse("kube-system/coredns")
        ObjectKey(namespace='kube-system', name='coredns')
        >>> ObjectKey.parse("node-1")
        ObjectKey(namespace='', name='node-1')
        """
        namespace, _, name = key.rpartition("/")
        return cls(namespace=namespace, name=name)


POD = ResourceKind(group="", version="v1", kind="Pod", plural="pods", namespaced=True, short_names=("po",))
NODE = ResourceKind(group="", version="v1", kind="Node", plural="nodes", namespaced=False, short_names=("no",))
NAMESPACE = ResourceKind(
    group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False, short_names=("ns",)
)
EVENT = ResourceKind(group="", version="v1", kind="Event", plural="events", namespaced=True, short_names=("ev",))
CONFIG_MAP = ResourceKind(
    group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True, short_names=("cm",)
)
LEASE = ResourceKind(
    group="coordination.k8s.io", version="v1", kind="Lease", plural="leases", namespaced=True
)
CUSTOM_RESOURCE_DEFINITION = ResourceKind(
    group="apiextensions.k8s.io",
    version="v1",
    kind="CustomResourceDefinition",
    plural="customresourcedefinitions",
    namespaced=False,
    short_names=("crd", "crds"),
)


Obj = dict[str, Any]
"""An object as decoded from the API server's JSON. Objects handed out by caches are shared: never mutate one;
``copy.deepcopy`` it before writing."""


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    """The ObjectKey of a decoded object.

    >>> key_of({"metadata": {"namespace": "default", "name": "web-0"}})
    ObjectKey(namespace='default', name='web-0')
    """
    metadata = obj.get("metadata") or {}
    return ObjectKey(namespace=metadata.get("namespace") or "", name=metadata.get("name") or "")


def controller_owner(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (there is at most one).

    >>> controller_owner({"metadata": {"ownerReferences": [
    ...     {"kind": "ReplicaSet", "name": "a"}, {"kind": "ReplicaSet", "name": "b", "controller": True}]}})["name"]
    'b'
    """
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") is True:
            return ref  # type: ignore[no-any-return]
    return None
