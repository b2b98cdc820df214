"""The kubelet stand-in's reconciliation against the fake API server, with a recording sandbox runtime:
registration, Running status, backoff with one event per failure, teardown and the graceful-delete handshake."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim.kube import KubeApi
from eni.sim.kubelet.cni_exec import CniError
from eni.sim.kubelet.kubelet import KubeletTimings, SimKubelet
from eni.sim.kubelet.objects import NodeSpec
from eni.sim.kubelet.sandbox import SandboxRecord, SandboxStore

SPEC = NodeSpec(name="node-1", instance_id="ins-abcd1234", zone="ap-guangzhou-3", region="ap-guangzhou",
                instance_type="S5.MEDIUM4", primary_ip="10.0.1.5")


class RecordingRuntime:
    """Stands in for SandboxRuntime: hands out IPs, or fails the next ``fail`` creates."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.created: list[str] = []
        self.destroyed: list[str] = []
        self.fail = 0

    def create(self, *, uid: str, namespace: str, name: str, port_mappings: tuple = ()) -> SandboxRecord:
        if self.fail:
            self.fail -= 1
            raise CniError("tke-route-eni", "ADD", code=11, msg="no free IP on the node")
        record = SandboxRecord(uid=uid, namespace=namespace, name=name, container_id="c" * 64,
                               netns=f"tkesim-000000-pod-{uid[:8]}",
                               result={"ips": [{"address": f"10.0.2.{10 + len(self.created)}/32"}]})
        self.store.put(record)
        self.created.append(name)
        return record

    def destroy(self, record: SandboxRecord) -> None:
        self.store.remove(record.uid)
        self.destroyed.append(record.name)


@pytest.fixture
def graceful(tmp_path: Path):
    server = FakeApiServer(graceful_pod_deletion=True)
    server.start()
    server.write_kubeconfig(str(tmp_path / "kubeconfig"))
    api = KubeApi(tmp_path / "kubeconfig")
    try:
        yield api
    finally:
        api.close()
        server.stop()


def _kubelet(api, tmp_path, **timings):
    runtime = RecordingRuntime(SandboxStore(tmp_path / "sandboxes"))
    return SimKubelet(spec=SPEC, api=api, runtime=runtime, timings=KubeletTimings(**timings)), runtime


def _pod(api, name, node="node-1"):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "x"}]}}
    return api.core.create_namespaced_pod("default", body, _preload_content=False).json()


def _read(api, name):
    return api.core.read_namespaced_pod(name, "default", _preload_content=False).json()


def test_registers_the_node_and_reports_pods_running_only_on_its_node(graceful, tmp_path):
    kubelet, runtime = _kubelet(graceful, tmp_path)
    kubelet.register()
    _pod(graceful, "mine")
    _pod(graceful, "theirs", node="node-2")
    kubelet.sync_once()
    kubelet.sync_once()  # a second pass changes nothing
    assert runtime.created == ["mine"]
    status = _read(graceful, "mine")["status"]
    assert (status["phase"], status["podIP"], status["hostIP"]) == ("Running", "10.0.2.10", "10.0.1.5")
    assert _read(graceful, "theirs").get("status", {}).get("phase") != "Running"
    node = graceful.get_node("node-1")
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True"


def test_a_failed_add_is_retried_after_backoff_with_an_event_per_failure(graceful, tmp_path):
    kubelet, runtime = _kubelet(graceful, tmp_path, backoff_initial=0.0, backoff_max=0.0)
    runtime.fail = 2
    _pod(graceful, "web-0")
    kubelet.sync_once()
    kubelet.sync_once()
    kubelet.sync_once()
    events = graceful.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    assert [e["reason"] for e in events] == ["FailedCreatePodSandBox", "FailedCreatePodSandBox"]
    assert "no free IP" in events[0]["message"]
    assert runtime.created == ["web-0"] and _read(graceful, "web-0")["status"]["phase"] == "Running"


def test_backoff_holds_retries_back(graceful, tmp_path):
    kubelet, runtime = _kubelet(graceful, tmp_path, backoff_initial=60.0)
    runtime.fail = 1
    _pod(graceful, "web-0")
    kubelet.sync_once()
    kubelet.sync_once()
    assert runtime.created == [] and runtime.fail == 0


def test_graceful_deletion_waits_for_the_teardown_then_the_pod_goes(graceful, tmp_path):
    kubelet, runtime = _kubelet(graceful, tmp_path)
    _pod(graceful, "web-0")
    kubelet.sync_once()
    graceful.core.delete_namespaced_pod("web-0", "default", _preload_content=False)
    assert _read(graceful, "web-0")["metadata"].get("deletionTimestamp")  # waits for the kubelet
    kubelet.sync_once()
    assert runtime.destroyed == ["web-0"]
    names = [p["metadata"]["name"] for p in graceful.list_pods()["items"]]
    assert names == []


def test_a_restarted_kubelet_tears_down_sandboxes_of_pods_that_went_while_it_was_away(graceful, tmp_path):
    kubelet, runtime = _kubelet(graceful, tmp_path)
    _pod(graceful, "web-0")
    kubelet.sync_once()
    (record,) = runtime.store.all().values()
    runtime.store.put(replace(record, uid="gone-uid", name="gone"))  # a sandbox whose pod no longer exists
    again, runtime2 = _kubelet(graceful, tmp_path)
    again.sync_once()
    assert runtime2.destroyed == ["gone"] and runtime2.created == []
