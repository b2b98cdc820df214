"""The kubelet stand-in gives pods device ids from the real eni-ip device plugin and publishes its counts."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from eni.agent.deviceplugin import ENI_IP, DevicePluginServer, DevicePluginSettings
from eni.sim.kubelet import FakeDeviceManager
from eni.sim.kubelet.devices import AdmissionError, DeviceAssigner
from eni.sim.kubelet.kubelet import KubeletTimings, SimKubelet
from eni.sim.kubelet.objects import NodeSpec
from eni.sim.kubelet.sandbox import SandboxRecord, SandboxStore

RESOURCE = "tke.cloud.tencent.com/eni-ip"
SPEC = NodeSpec(name="node-1", instance_id="ins-abcd1234", zone="ap-guangzhou-3", region="ap-guangzhou",
                instance_type="S5.MEDIUM4", primary_ip="10.0.1.5")


@pytest.fixture
def devices():
    folder = Path(tempfile.mkdtemp(prefix="simdp-", dir="/tmp"))  # unix socket paths must stay short
    manager = FakeDeviceManager(folder, call_timeout=5.0)
    manager.start()
    stop = threading.Event()
    server = DevicePluginServer(ENI_IP, DevicePluginSettings(plugin_dir=folder, poll_interval=0.05,
                                                             stream_heartbeat=0.5, shutdown_grace=1.0),
                                capacity=3, healthy=2)
    thread = threading.Thread(target=server.start, args=(stop,), daemon=True)
    thread.start()
    try:
        assert manager.wait_until(lambda: manager.counts(RESOURCE).capacity == 3, timeout=10)
        yield manager
    finally:
        stop.set()
        thread.join(10)
        manager.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_only_healthy_unassigned_devices_are_given_and_released_ones_come_back(devices):
    assigner = DeviceAssigner(devices)
    first = assigner.assign("uid-1", {RESOURCE: 1})[RESOURCE]
    second = assigner.assign("uid-2", {RESOURCE: 1})[RESOURCE]
    assert len(first) == len(second) == 1 and first != second
    healthy = {d for d, h in devices.devices(RESOURCE).items() if h == "Healthy"}
    assert set(first + second) == healthy
    with pytest.raises(AdmissionError, match="insufficient"):
        assigner.assign("uid-3", {RESOURCE: 1})
    assigner.release("uid-1")
    assert assigner.assign("uid-3", {RESOURCE: 1})[RESOURCE] == first
    with pytest.raises(AdmissionError, match="no device plugin"):
        assigner.assign("uid-4", {"tke.cloud.tencent.com/eip": 1})


class _Runtime:
    def __init__(self, store):
        self.store = store

    def create(self, *, uid, namespace, name, port_mappings=()):
        record = SandboxRecord(uid=uid, namespace=namespace, name=name, container_id="c" * 64,
                               netns="tkesim-000000-pod-x", result={"ips": [{"address": "10.0.2.9/32"}]})
        self.store.put(record)
        return record

    def destroy(self, record):
        self.store.remove(record.uid)


def test_node_status_shows_the_plugin_counts_and_a_pod_beyond_them_gets_an_admission_event(
        devices, kube, tmp_path):
    kubelet = SimKubelet(spec=SPEC, api=kube, runtime=_Runtime(SandboxStore(tmp_path / "sb")), devices=devices,
                         timings=KubeletTimings(backoff_initial=60))
    kubelet.register()
    node = kube.get_node("node-1")
    assert (node["status"]["capacity"][RESOURCE], node["status"]["allocatable"][RESOURCE]) == ("3", "2")
    for i in range(3):
        wants = {"requests": {RESOURCE: "1"}, "limits": {RESOURCE: "1"}}
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "default"},
                "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "x", "resources": wants}]}}
        kube.core.create_namespaced_pod("default", body, _preload_content=False)
    kubelet.sync_once()
    phases = {p["metadata"]["name"]: (p.get("status") or {}).get("phase") for p in kube.list_pods()["items"]}
    assert list(phases.values()).count("Running") == 2
    events = kube.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    assert [e["reason"] for e in events] == ["UnexpectedAdmissionError"]
