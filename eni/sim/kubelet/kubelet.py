"""``SimKubelet``: the kubelet stand-in of one simulated node.

It registers the Node (zone and instance-type labels, ``providerID``), keeps its status Ready with the
extended resources the device plugins registered with its ``FakeDeviceManager``, and for every pod bound to
the node builds a sandbox (pod namespace + CNI ADD through the node's plugins) and reports the pod Running
with its IP. A CNI failure becomes a ``FailedCreatePodSandBox`` event and is retried with exponential
backoff. A pod that is gone or terminating gets CNI DEL and its namespace removed.

Reconciliation is level-based: each pass compares the pods bound here with the sandbox records on disk, so
a missed watch event or a restart only delays work. A watch on the node's pods wakes the loop early. Every
loop waits on the ``stop`` event; nothing blocks without a timeout.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eni.sim.kube import KubeApi, Obj
from eni.sim.kubelet.cni_exec import CniError
from eni.sim.kubelet.device_manager import FakeDeviceManager, ResourceCounts
from eni.sim.kubelet.devices import AdmissionError, DeviceAssigner
from eni.sim.kubelet.objects import (
    NodeSpec,
    extended_requests,
    node_object,
    node_status,
    port_mappings,
    rfc3339,
    running_status,
    sandbox_failed_event,
)
from eni.sim.kubelet.sandbox import SandboxRecord, SandboxRuntime

log = logging.getLogger(__name__)

WATCH_SECONDS = 30


@dataclass(frozen=True, slots=True)
class KubeletTimings:
    resync: float = 2.0
    heartbeat: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SimKubelet:
    """Runs the node's pods' sandboxes; see the module docstring."""

    def __init__(
        self,
        *,
        spec: NodeSpec,
        api: KubeApi,
        runtime: SandboxRuntime,
        devices: FakeDeviceManager | None = None,
        timings: KubeletTimings = KubeletTimings(),
        now: Callable[[], datetime] = _utcnow,
        on_add_latency: Callable[[float], None] | None = None,
    ) -> None:
        self.spec, self.api, self.runtime = spec, api, runtime
        self.devices = devices
        self.timings, self._now, self._on_add_latency = timings, now, on_add_latency
        self._wake = threading.Event()
        self._status_dirty = threading.Event()
        self._backoff: dict[str, tuple[float, float]] = {}  # uid -> (next attempt monotonic, current delay)
        self._reported: dict[str, str] = {}  # uid -> pod IP last written to the pod status
        self._resource_version = ""
        self._started_at = now()

    # ---- node ----------------------------------------------------------------------------------------

    @property
    def devices(self) -> FakeDeviceManager | None:
        return self._devices

    @devices.setter
    def devices(self, manager: FakeDeviceManager | None) -> None:
        self._devices = manager
        self._assigner = DeviceAssigner(manager) if manager is not None else None

    def assigned_devices(self) -> dict[str, dict[str, list[str]]]:
        """Device ids given to each pod (by uid), per resource; empty without a device manager."""
        return self._assigner.held() if self._assigner is not None else {}

    def on_resource_change(self, resource: str, counts: ResourceCounts) -> None:
        """``FakeDeviceManager`` callback: publish the new counts soon."""
        self._status_dirty.set()
        self._wake.set()

    def register(self) -> None:
        """Create the Node (or merge labels and providerID into an existing one), then write its status."""
        from kubernetes.client import ApiException

        body = node_object(self.spec)
        try:
            self.api.create_node(body)
        except ApiException as e:
            if e.status != 409:
                raise
            self.api.patch_node(self.spec.name, {"metadata": {"labels": body["metadata"]["labels"]},
                                                 "spec": body["spec"]})
        self.post_status()

    def post_status(self) -> None:
        extended: dict[str, tuple[int, int]] = {}
        if self.devices is not None:
            for resource, counts in self.devices.resources().items():
                extended[resource] = (counts.capacity, counts.allocatable)
        status = node_status(self.spec, extended, now=self._now())
        for condition in status["conditions"]:  # nothing has transitioned since this kubelet started
            condition["lastTransitionTime"] = rfc3339(self._started_at)
        self.api.patch_node_status(self.spec.name, status)

    # ---- pods ------------------------------------------------------------------------------------------

    def sync_once(self) -> None:
        """One level-based pass over this node's pods and sandbox records."""
        listed = self.api.list_pods(field_selector=f"spec.nodeName={self.spec.name}")
        self._resource_version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        live: dict[str, Obj] = {}
        terminating: list[Obj] = []
        for pod in listed.get("items") or []:
            meta = pod.get("metadata") or {}
            phase = (pod.get("status") or {}).get("phase")
            if not meta.get("uid"):
                continue
            if meta.get("deletionTimestamp"):
                terminating.append(pod)
            elif phase not in ("Succeeded", "Failed"):
                live[str(meta["uid"])] = pod
        records = self.runtime.store.all()
        for uid, record in records.items():
            if uid not in live or record.result is None:
                self._destroy(record)
        remaining = self.runtime.store.all()
        for pod in terminating:
            meta = pod["metadata"]
            if str(meta["uid"]) not in remaining:  # network gone: confirm the graceful delete
                try:
                    self.api.delete_pod_now(str(meta.get("namespace") or "default"), str(meta["name"]),
                                            uid=str(meta["uid"]))
                except Exception as e:  # gone already, or the API server is restarting: next pass
                    log.debug("final delete of %s: %s", meta.get("name"), e)
        for uid, pod in live.items():
            known = records.get(uid)
            if known is not None and known.result is not None:
                self._report(pod, known)
            elif not (pod.get("spec") or {}).get("hostNetwork"):
                self._create(pod)
            else:
                self._report_host_network(pod)
        for uid in list(self._backoff):
            if uid not in live:
                del self._backoff[uid]
        for uid in list(self._reported):
            if uid not in live:
                del self._reported[uid]

    def _create(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = str(meta["uid"])
        due, delay = self._backoff.get(uid, (0.0, 0.0))
        if time.monotonic() < due:
            return
        started = time.monotonic()
        try:
            if self._assigner is not None:
                self._assigner.assign(uid, extended_requests(pod))
            record = self.runtime.create(uid=uid, namespace=str(meta.get("namespace") or "default"),
                                         name=str(meta.get("name")), port_mappings=port_mappings(pod))
        except (AdmissionError, CniError, ValueError, RuntimeError) as e:
            if self._assigner is not None:
                self._assigner.release(uid)
            delay = min(self.timings.backoff_max, max(self.timings.backoff_initial, delay * 2))
            self._backoff[uid] = (time.monotonic() + delay, delay)
            log.warning("sandbox of %s/%s failed (retry in %.0fs): %s", meta.get("namespace"), meta.get("name"),
                        delay, e)
            self._event(pod, str(e), reason="UnexpectedAdmissionError" if isinstance(e, AdmissionError)
                        else "FailedCreatePodSandBox")
            return
        if self._on_add_latency is not None:
            self._on_add_latency(time.monotonic() - started)
        self._backoff.pop(uid, None)
        log.info("pod %s/%s up in %s with %s (%.0f ms)", meta.get("namespace"), meta.get("name"), record.netns,
                 record.ip, 1000 * (time.monotonic() - started))
        self._report(pod, record)

    def _report(self, pod: Obj, record: SandboxRecord) -> None:
        uid = record.uid
        ip = record.ip or ""
        status = pod.get("status") or {}
        if self._reported.get(uid) == ip and status.get("podIP") == ip and status.get("phase") == "Running":
            return
        meta = pod["metadata"]
        body = running_status(pod, pod_ip=ip, host_ip=self.spec.primary_ip, container_id=record.container_id,
                              now=self._now())
        self.api.patch_pod_status(str(meta.get("namespace") or "default"), str(meta["name"]), body)
        self._reported[uid] = ip

    def _report_host_network(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = str(meta["uid"])
        if self._reported.get(uid) == self.spec.primary_ip:
            return
        body = running_status(pod, pod_ip=self.spec.primary_ip, host_ip=self.spec.primary_ip,
                              container_id=uid.replace("-", "") * 2, now=self._now())
        self.api.patch_pod_status(str(meta.get("namespace") or "default"), str(meta["name"]), body)
        self._reported[uid] = self.spec.primary_ip

    def _destroy(self, record: SandboxRecord) -> None:
        try:
            self.runtime.destroy(record)
            if self._assigner is not None:
                self._assigner.release(record.uid)
            log.info("pod %s/%s torn down (%s)", record.namespace, record.name, record.ip)
        except (CniError, ValueError, RuntimeError) as e:
            log.warning("teardown of %s/%s failed, retried next pass: %s", record.namespace, record.name, e)

    def _event(self, pod: Obj, message: str, *, reason: str) -> None:
        namespace = str(pod["metadata"].get("namespace") or "default")
        try:
            self.api.create_event(namespace, sandbox_failed_event(pod, node=self.spec.name, message=message,
                                                                  now=self._now(), reason=reason))
        except Exception as e:  # an event is best effort, like the kubelet's recorder
            log.warning("cannot record event for %s: %s", pod["metadata"].get("name"), e)

    # ---- loops -----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Register, then reconcile until ``stop`` is set (watch, heartbeat and sync loops)."""
        self._retry(stop, self.register, "register the node")
        watcher = threading.Thread(target=self._watch_loop, args=(stop,), name="kubelet-watch", daemon=True)
        watcher.start()
        last_heartbeat = time.monotonic()
        while not stop.is_set():
            if self._status_dirty.is_set() or time.monotonic() - last_heartbeat >= self.timings.heartbeat:
                self._status_dirty.clear()
                self._guard(self.post_status, "post node status")
                last_heartbeat = time.monotonic()
            self._guard(self.sync_once, "sync pods")
            self._wake.wait(self._next_wait())
            self._wake.clear()
        watcher.join(timeout=self.api.timeout + 1)

    def _next_wait(self) -> float:
        wait = self.timings.resync
        now = time.monotonic()
        for due, _ in self._backoff.values():
            wait = min(wait, max(0.05, due - now))
        return wait

    def _guard(self, fn: Callable[[], None], what: str) -> None:
        try:
            fn()
        except Exception as e:  # the API server may be restarting: keep the node alive and retry
            log.warning("cannot %s: %s", what, e)

    def _retry(self, stop: threading.Event, fn: Callable[[], None], what: str) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                fn()
                return
            except Exception as e:
                log.warning("cannot %s (retry in %.1fs): %s", what, delay, e)
                stop.wait(delay)
                delay = min(5.0, delay * 2)

    def _watch_loop(self, stop: threading.Event) -> None:
        selector = f"spec.nodeName={self.spec.name}"
        while not stop.is_set():
            if not self._resource_version:
                stop.wait(0.2)
                continue
            response: Any = None
            try:
                response = self.api.watch_pods(field_selector=selector, resource_version=self._resource_version,
                                               timeout_seconds=min(WATCH_SECONDS, 5))
                pending = b""
                for chunk in response.stream(amt=None, decode_content=True):
                    if stop.is_set():
                        break
                    pending += bytes(chunk)
                    *lines, pending = pending.split(b"\n")
                    for raw in lines:
                        if raw.strip():
                            self._on_watch_event(raw)
            except Exception as e:
                log.debug("pod watch ended: %s", e)
                stop.wait(0.5)
            finally:
                if response is not None:
                    response.release_conn()

    def _on_watch_event(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        obj = event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if event.get("type") in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK") and version:
            self._resource_version = str(version)
        if event.get("type") == "ERROR":
            self._resource_version = ""
        self._wake.set()
