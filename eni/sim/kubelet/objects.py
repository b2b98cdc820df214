"""The Kubernetes objects a kubelet writes, as plain dicts: the Node, a Running pod's status, an Event.

Pure functions of their inputs (the clock is passed in), so they are unit-tested without a server.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

ZONE_LABEL = "topology.kubernetes.io/zone"
LEGACY_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
LEGACY_INSTANCE_TYPE_LABEL = "beta.kubernetes.io/instance-type"
HOSTNAME_LABEL = "kubernetes.io/hostname"
MAX_PODS = 110


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What the simulation knows of one node when its kubelet starts."""

    name: str
    instance_id: str
    zone: str
    region: str
    instance_type: str
    primary_ip: str
    cpu: int = 2
    memory_gib: int = 4

    @property
    def provider_id(self) -> str:
        return f"qcloud:///{self.zone}/{self.instance_id}"


def rfc3339(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_object(spec: NodeSpec) -> dict[str, Any]:
    """The Node a kubelet registers: labels, providerID, addresses (status is written separately)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.name,
            "labels": {
                ZONE_LABEL: spec.zone, LEGACY_ZONE_LABEL: spec.zone, REGION_LABEL: spec.region,
                INSTANCE_TYPE_LABEL: spec.instance_type, LEGACY_INSTANCE_TYPE_LABEL: spec.instance_type,
                HOSTNAME_LABEL: spec.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"providerID": spec.provider_id},
    }


def node_status(spec: NodeSpec, extended: Mapping[str, tuple[int, int]], *, now: datetime) -> dict[str, Any]:
    """The Node status: Ready, addresses, capacity/allocatable including extended resources (capacity, allocatable)."""
    stamp = rfc3339(now)
    capacity: dict[str, str] = {"cpu": str(spec.cpu), "memory": f"{spec.memory_gib}Gi", "pods": str(MAX_PODS)}
    allocatable = dict(capacity)
    for resource, (cap, alloc) in extended.items():
        capacity[resource] = str(cap)
        allocatable[resource] = str(alloc)
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m,
         "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
        for t, r, m in (("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
                        ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                        ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"))
    ]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
                       "lastTransitionTime": stamp})
    return {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": spec.primary_ip}, {"type": "Hostname", "address": spec.name}],
        "nodeInfo": {"kubeletVersion": "v1.30.0-tke-eni-sim", "containerRuntimeVersion": "tke-eni-sim://1",
                     "operatingSystem": "linux", "architecture": "amd64", "kernelVersion": "", "osImage": "",
                     "kubeProxyVersion": "", "machineID": spec.instance_id, "systemUUID": spec.instance_id,
                     "bootID": spec.instance_id},
    }


def running_status(pod: Mapping[str, Any], *, pod_ip: str, host_ip: str, container_id: str,
                   now: datetime) -> dict[str, Any]:
    """status of a pod whose sandbox is up: Running, its IPs, every container started and ready."""
    stamp = rfc3339(now)
    containers = (pod.get("spec") or {}).get("containers") or []
    statuses = [
        {"name": str(c.get("name", "")), "ready": True, "started": True, "restartCount": 0,
         "image": str(c.get("image", "")), "imageID": "", "containerID": f"sim://{container_id[:12]}-{i}",
         "state": {"running": {"startedAt": stamp}}}
        for i, c in enumerate(containers) if isinstance(c, dict)
    ]
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
                  for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {
        "phase": "Running",
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": stamp,
        "conditions": conditions,
        "containerStatuses": statuses,
    }


def sandbox_failed_event(pod: Mapping[str, Any], *, node: str, message: str, now: datetime,
                         reason: str = "FailedCreatePodSandBox") -> dict[str, Any]:
    """A Warning event on the pod, by default ``FailedCreatePodSandBox`` as the kubelet records a CNI ADD failure."""
    meta = pod.get("metadata") or {}
    stamp = rfc3339(now)
    namespace = str(meta.get("namespace") or "default")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'pod')}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": meta.get("name", ""),
                           "uid": meta.get("uid", "")},
        "reason": reason,
        "message": (f"Failed to create pod sandbox: {message}" if reason == "FailedCreatePodSandBox"
                    else message)[:1024],
        "type": "Warning",
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def extended_requests(pod: Mapping[str, Any]) -> dict[str, int]:
    """Extended resources (names with a domain) the pod requests, summed over its containers."""
    wanted: dict[str, int] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        resources = c.get("resources") or {} if isinstance(c, dict) else {}
        requests = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, value in requests.items():
            if "/" in name and not name.startswith(("kubernetes.io/", "requests.")):
                try:
                    wanted[name] = wanted.get(name, 0) + int(str(value))
                except ValueError:
                    continue
    return wanted


def port_mappings(pod: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The pod's hostPorts in CNI's ``portMappings`` capability format."""
    found = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for port in (c.get("ports") or []) if isinstance(c, dict) else []:
            if isinstance(port, dict) and port.get("hostPort"):
                found.append({"hostPort": int(port["hostPort"]), "containerPort": int(port.get("containerPort") or 0),
                              "protocol": str(port.get("protocol") or "TCP").lower()})
    return tuple(found)
