"""Per-kind create/update rules that kube-apiserver's registry strategies apply.

What the real strategies do that clients notice: pods start ``Pending`` with scheduler defaults,
namespaces start ``Active`` with the ``kubernetes`` finalizer, services get a cluster IP, CRDs get
an established status, and kinds with a status subresource ignore status on create. All pure
functions over plain dicts; they never see the store.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import threading
from typing import Any

from . import crd as crds
from .kinds import ResourceType

# Kinds whose create keeps the client's status (kubelet posts a Node with its status).
_STATUS_KEPT_ON_CREATE = {"Node", "Event", "CustomResourceDefinition"}
_SERVICE_NETWORK = ipaddress.ip_network("10.96.0.0/16")


class ClusterIPAllocator:
    """Hands out service cluster IPs from 10.96.0.0/16, skipping .0 and the API server's .1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = itertools.count(10)

    def allocate(self) -> str:
        with self._lock:
            return str(_SERVICE_NETWORK.network_address + next(self._next) % (_SERVICE_NETWORK.num_addresses - 2))


def prepare_write(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """Rules of every write: a Secret's stringData is folded into base64 data, its type defaults to Opaque."""
    if rt.builtin and rt.kind == "Secret":
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")
    return obj


def prepare_create(
    rt: ResourceType, obj: dict[str, Any], *, now: str, cluster_ips: ClusterIPAllocator
) -> dict[str, Any]:
    """The object as it will be stored on create (obj is a private copy and may be modified)."""
    obj = prepare_write(rt, obj)
    if rt.has_status and rt.kind not in _STATUS_KEPT_ON_CREATE:
        obj.pop("status", None)
    if rt.kind == "Pod":
        spec = obj.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("securityContext", {})
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif rt.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif rt.kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = cluster_ips.allocate()
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        obj["status"] = {"loadBalancer": {}}
    elif rt.kind == "CustomResourceDefinition":
        obj = crds.with_status(obj, now)
    return obj


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether anything but metadata and status differs (what bumps metadata.generation)."""
    ignored = {"metadata", "status", "kind", "apiVersion"}
    keys = (set(old) | set(new)) - ignored
    return any(old.get(k) != new.get(k) for k in keys)


def same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update is a no-op (the server then keeps the resourceVersion)."""
    if spec_changed(old, new) or old.get("status") != new.get("status"):
        return False
    old_meta = {k: v for k, v in (old.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}
    new_meta = {k: v for k, v in (new.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}
    return old_meta == new_meta
