"""Pod operations the demo and the end-to-end tests share: create, wait until Running, delete, look up.

Plain dicts over ``KubeApi``; every wait is bounded and reports what it is still waiting for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from eni.api.v1.constants import ANNOTATION_NETWORKS, NETWORK_DIRECT_ENI, NETWORK_ROUTE_ENI
from eni.sim.kube import KubeApi, Obj
from eni.sim.scheduler import DIRECT_ENI_RESOURCE, EIP_RESOURCE, ENI_IP_RESOURCE


class PodWaitError(TimeoutError):
    """Pods did not reach the wanted state in time; the message lists the laggards and their events."""


def pod_manifest(name: str, *, labels: Mapping[str, str] | None = None,
                 annotations: Mapping[str, str] | None = None, eni_ips: int = 1,
                 node_selector: Mapping[str, str] | None = None, network: str = "", eip: bool = False) -> Obj:
    """A pod with the extended-resource requests the webhook would inject.

    By default it asks for ``eni_ips`` of ``tke.cloud.tencent.com/eni-ip`` (a shared-ENI pod). ``network``
    sets the ``tke.cloud.tencent.com/networks`` annotation: ``tke-direct-eni`` asks for one
    ``tke.cloud.tencent.com/direct-eni`` instead (a whole ENI, no eni-ip). ``eip`` adds
    ``tke.cloud.tencent.com/eip: 1``. ValueError for an unknown network.
    """
    if network not in ("", NETWORK_ROUTE_ENI, NETWORK_DIRECT_ENI):
        raise ValueError(f"unknown network {network!r}; use {NETWORK_ROUTE_ENI} or {NETWORK_DIRECT_ENI}")
    wants: dict[str, str] = {}
    if network == NETWORK_DIRECT_ENI:
        wants[DIRECT_ENI_RESOURCE] = "1"
    elif eni_ips:
        wants[ENI_IP_RESOURCE] = str(eni_ips)
    if eip:
        wants[EIP_RESOURCE] = "1"
    container: dict[str, Any] = {"name": "app", "image": "registry.local/app:1"}
    if wants:
        container["resources"] = {"requests": dict(wants), "limits": dict(wants)}
    spec: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 0}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    all_annotations = dict(annotations or {})
    if network:
        all_annotations[ANNOTATION_NETWORKS] = network
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": dict(labels or {}),
                         "annotations": all_annotations},
            "spec": spec}


def create_pod(api: KubeApi, body: Obj) -> Obj:
    namespace = str(body["metadata"].get("namespace") or "default")
    return dict(api.core.create_namespaced_pod(namespace, body, _preload_content=False,
                                               _request_timeout=api.timeout).json())


def delete_pod(api: KubeApi, name: str, *, namespace: str = "default") -> None:
    api.core.delete_namespaced_pod(name, namespace, _preload_content=False, _request_timeout=api.timeout)


def pods_by_name(api: KubeApi, *, label_selector: str = "") -> dict[str, Obj]:
    reply = api.core.list_namespaced_pod("default", label_selector=label_selector, _preload_content=False,
                                         _request_timeout=api.timeout).json()
    return {p["metadata"]["name"]: p for p in reply.get("items") or []}


def _events_of(api: KubeApi, name: str) -> list[str]:
    reply = api.core.list_namespaced_event("default", _preload_content=False, _request_timeout=api.timeout).json()
    return [f"{e.get('reason')}: {e.get('message')}" for e in reply.get("items") or []
            if (e.get("involvedObject") or {}).get("name") == name]


def wait_running(api: KubeApi, names: list[str], *, timeout: float,
                 on_wait: Callable[[str], None] = lambda text: None) -> dict[str, Obj]:
    """Wait until every named pod is Running with a pod IP; returns them. PodWaitError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        pods = pods_by_name(api)
        ready = {n: pods[n] for n in names if n in pods and (pods[n].get("status") or {}).get("phase") == "Running"
                 and (pods[n].get("status") or {}).get("podIP")}
        if len(ready) == len(names):
            return ready
        if time.monotonic() >= deadline:
            late = [n for n in names if n not in ready]
            detail = "; ".join(f"{n}: {' | '.join(_events_of(api, n)[-2:]) or 'no events'}" for n in late[:3])
            raise PodWaitError(f"{len(late)} pod(s) not Running after {timeout:.0f}s ({detail})")
        on_wait(f"pods Running {len(ready)}/{len(names)}")
        time.sleep(0.3)


def wait_gone(api: KubeApi, name: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while name in pods_by_name(api):
        if time.monotonic() >= deadline:
            raise PodWaitError(f"pod {name} still exists after {timeout:.0f}s")
        time.sleep(0.2)
