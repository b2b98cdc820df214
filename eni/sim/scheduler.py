"""``SimScheduler``: the scheduler stand-in that binds pending pods to nodes, with an HTTP extender.

Each pass lists the unbound pods and the nodes, keeps the Ready, schedulable nodes that match the pod's
``nodeSelector`` and have room for its extended-resource requests (allocatable minus what the pods already
bound there request: ``eni-ip``, ``direct-eni``, ``eip`` and any other) and its pod count, then, for pods that
ask for a resource the extender manages (``tke.cloud.tencent.com/eni-ip`` or ``.../direct-eni``), asks the
extender with kube-scheduler's real JSON protocol: ``POST <prefix>/filter`` with ``ExtenderArgs`` (``Pod``,
``Nodes``) and ``POST <prefix>/prioritize`` for ``HostPriority`` scores. The best node (extender score, then
fewest pods, then name) gets a Binding. A pod that fits nowhere gets one ``FailedScheduling`` event per distinct
reason and is retried every pass.

It never binds a pod twice (the API server refuses a second binding) and never blocks without a timeout.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eni.api.v1.constants import RESOURCE_DIRECT_ENI, RESOURCE_EIP, RESOURCE_ENI_IP
from eni.sim.kube import KubeApi, Obj
from eni.sim.kubelet.objects import extended_requests, rfc3339

log = logging.getLogger(__name__)

ENI_IP_RESOURCE = RESOURCE_ENI_IP
DIRECT_ENI_RESOURCE = RESOURCE_DIRECT_ENI
EIP_RESOURCE = RESOURCE_EIP
EXTENDER_TIMEOUT = 5.0


class ExtenderError(RuntimeError):
    """The extender could not be reached or answered with an error."""


@dataclass(frozen=True, slots=True)
class ExtenderConfig:
    url_prefix: str
    filter_verb: str = "filter"
    prioritize_verb: str = "prioritize"
    weight: int = 1
    managed_resources: tuple[str, ...] = (ENI_IP_RESOURCE, DIRECT_ENI_RESOURCE)
    """Pods requesting one of these are sent to the extender. direct-eni is there because a static pod's kept
    ENI lives in one subnet, so in one zone, like a retained IP."""
    timeout: float = EXTENDER_TIMEOUT


@dataclass
class Decision:
    """Why a pod landed where it did (or nowhere)."""

    node: str | None
    failed: dict[str, str] = field(default_factory=dict)
    used_extender: bool = False


def _quantity(value: object) -> int:
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return 0


def node_ready(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def post_json(url: str, body: object, *, timeout: float) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback extender
            return json.loads(response.read() or b"null")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ExtenderError(f"{url}: {e}") from e


class SimScheduler:
    """Binds pending pods; see the module docstring."""

    def __init__(self, api: KubeApi, *, extender: ExtenderConfig | None = None,
                 scheduler_name: str = "default-scheduler") -> None:
        self.api, self.extender, self.scheduler_name = api, extender, scheduler_name
        self._reported: dict[str, str] = {}  # pod uid -> last FailedScheduling message

    def schedule_once(self) -> list[tuple[str, Decision]]:
        """One pass; returns (namespace/name, decision) for every pending pod seen."""
        pending = [p for p in self.api.list_pods(field_selector="spec.nodeName=").get("items") or []
                   if self._mine(p)]
        if not pending:
            return []
        nodes = [n for n in self.api.list_nodes().get("items") or []
                 if node_ready(n) and not (n.get("spec") or {}).get("unschedulable")]
        bound = [p for p in self.api.list_pods().get("items") or [] if (p.get("spec") or {}).get("nodeName")]
        usage = _usage(bound)
        decisions = []
        for pod in pending:
            meta = pod["metadata"]
            key = f"{meta.get('namespace', 'default')}/{meta['name']}"
            decision = self.decide(pod, nodes, usage)
            target = decision.node
            if target is not None:
                try:
                    self.api.bind(str(meta.get("namespace") or "default"), str(meta["name"]), target,
                                  uid=str(meta.get("uid") or ""))
                except Exception as e:
                    log.warning("binding %s to %s failed: %s", key, target, e)
                    decision = Decision(None, {"*": f"binding failed: {e}"}, decision.used_extender)
                else:
                    log.info("bound %s to %s", key, target)
                    used = usage.setdefault(target, {})
                    for name, count in {**extended_requests(pod), "pods": 1}.items():
                        used[name] = used.get(name, 0) + count
                    self._reported.pop(str(meta.get("uid")), None)
            if decision.node is None:
                self._failed(pod, decision, total=len(nodes))
            decisions.append((key, decision))
        return decisions

    def _mine(self, pod: Mapping[str, Any]) -> bool:
        spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
        phase = (pod.get("status") or {}).get("phase")
        return (not meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed")
                and spec.get("schedulerName", "default-scheduler") in ("", self.scheduler_name))

    def decide(self, pod: Obj, nodes: list[Obj], usage: Mapping[str, Mapping[str, int]]) -> Decision:
        """The node for ``pod`` among ``nodes`` given what is already ``usage``d (no API writes)."""
        wants = extended_requests(pod)
        selector = (pod.get("spec") or {}).get("nodeSelector") or {}
        failed: dict[str, str] = {}
        fit: list[Obj] = []
        for node in nodes:
            name = node["metadata"]["name"]
            labels = node["metadata"].get("labels") or {}
            allocatable = (node.get("status") or {}).get("allocatable") or {}
            used = usage.get(name, {})
            if any(labels.get(k) != v for k, v in selector.items()):
                failed[name] = "node(s) didn't match Pod's node affinity/selector"
            elif used.get("pods", 0) + 1 > _quantity(allocatable.get("pods", 110)):
                failed[name] = "Too many pods"
            elif short := [r for r, n in wants.items() if used.get(r, 0) + n > _quantity(allocatable.get(r, 0))]:
                failed[name] = "Insufficient " + ", ".join(sorted(short))
            else:
                fit.append(node)
        scores: dict[str, int] = {}
        used_extender = False
        if fit and self.extender is not None and any(r in wants for r in self.extender.managed_resources):
            used_extender = True
            try:
                fit, extra_failed = self._extender_filter(pod, fit)
                failed.update(extra_failed)
                if fit:
                    scores = self._extender_prioritize(pod, fit)
            except ExtenderError as e:
                return Decision(None, {**failed, "*": f"extender: {e}"}, used_extender)
        if not fit:
            return Decision(None, failed, used_extender)
        best = min(fit, key=lambda n: (-scores.get(n["metadata"]["name"], 0),
                                       usage.get(n["metadata"]["name"], {}).get("pods", 0), n["metadata"]["name"]))
        return Decision(best["metadata"]["name"], failed, used_extender)

    def _extender_filter(self, pod: Obj, nodes: list[Obj]) -> tuple[list[Obj], dict[str, str]]:
        assert self.extender is not None
        url = f"{self.extender.url_prefix.rstrip('/')}/{self.extender.filter_verb}"
        reply = post_json(url, {"Pod": pod, "Nodes": {"items": nodes}}, timeout=self.extender.timeout)
        if not isinstance(reply, dict):
            raise ExtenderError(f"{url}: the reply is not an ExtenderFilterResult")
        if reply.get("Error"):
            raise ExtenderError(str(reply["Error"]))
        failed = {str(k): str(v) for k, v in {**(reply.get("FailedNodes") or {}),
                                              **(reply.get("FailedAndUnresolvableNodes") or {})}.items()}
        if reply.get("NodeNames") is not None:
            keep = set(reply.get("NodeNames") or [])
        else:
            keep = {n["metadata"]["name"] for n in ((reply.get("Nodes") or {}).get("items") or [])}
        return [n for n in nodes if n["metadata"]["name"] in keep], failed

    def _extender_prioritize(self, pod: Obj, nodes: list[Obj]) -> dict[str, int]:
        assert self.extender is not None
        url = f"{self.extender.url_prefix.rstrip('/')}/{self.extender.prioritize_verb}"
        reply = post_json(url, {"Pod": pod, "Nodes": {"items": nodes}}, timeout=self.extender.timeout)
        if not isinstance(reply, list):
            raise ExtenderError(f"{url}: the reply is not a HostPriorityList")
        return {str(h.get("Host")): _quantity(h.get("Score", 0)) * self.extender.weight
                for h in reply if isinstance(h, dict)}

    def _failed(self, pod: Obj, decision: Decision, *, total: int) -> None:
        meta = pod["metadata"]
        reasons: dict[str, int] = {}
        for reason in decision.failed.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) or "no nodes available"
        message = f"0/{total} nodes are available: {detail}."
        uid = str(meta.get("uid") or "")
        if self._reported.get(uid) == message:
            return
        self._reported[uid] = message
        log.info("cannot schedule %s/%s: %s", meta.get("namespace"), meta.get("name"), message)
        namespace = str(meta.get("namespace") or "default")
        stamp = rfc3339(datetime.now(timezone.utc))
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": meta["name"],
                               "uid": uid},
            "reason": "FailedScheduling", "message": message, "type": "Warning",
            "source": {"component": self.scheduler_name}, "reportingComponent": self.scheduler_name,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        }
        try:
            self.api.create_event(namespace, event)
        except Exception as e:
            log.warning("cannot record FailedScheduling for %s: %s", meta["name"], e)

    def run(self, stop: threading.Event, *, interval: float = 0.3) -> None:
        """Schedule until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.schedule_once()
            except Exception as e:  # the API server may be restarting
                log.warning("scheduling pass failed: %s", e)
            stop.wait(interval)


def _usage(pods: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    usage: dict[str, dict[str, int]] = {}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            continue
        used = usage.setdefault(str(pod["spec"]["nodeName"]), {})
        for name, count in {**extended_requests(pod), "pods": 1}.items():
            used[name] = used.get(name, 0) + count
    return usage
