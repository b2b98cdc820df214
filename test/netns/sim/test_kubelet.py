"""The kubelet stand-in runs a node's real CNI chain for its pods, and pods reach the VPC through their ENI."""

from __future__ import annotations

import json
from pathlib import Path

from eni.sim.iproute import list_netns, netns_exists
from eni.sim.kubelet.cni_exec import CniExecutor
from eni.sim.kubelet.kubelet import SimKubelet
from eni.sim.kubelet.objects import NodeSpec
from eni.sim.kubelet.sandbox import SandboxRuntime, SandboxStore
from eni.sim.probe import ping_until

ZONE = "ap-guangzhou-3"
SUBNET = "subnet-gz3a0001"


def _pod(kube, name, node):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}]}}
    return kube.core.create_namespaced_pod("default", body, _preload_content=False).json()


def _read(kube, name):
    return kube.core.read_namespaced_pod(name, "default", _preload_content=False).json()


def _kubelet(sim_vpc, kube, port, conf_dir, bin_dirs, state_dir, latencies=None):
    spec = NodeSpec(name="node-a", instance_id=port.instance_id, zone=ZONE, region="ap-guangzhou",
                    instance_type="S5.MEDIUM4", primary_ip=str(port.primary_ip))
    runtime = SandboxRuntime(names=sim_vpc.names, store=SandboxStore(state_dir),
                             executor=CniExecutor(node_netns=port.netns, bin_dirs=bin_dirs), conf_dir=conf_dir)
    return SimKubelet(spec=spec, api=kube, runtime=runtime, on_add_latency=latencies.append if latencies else None)


def test_a_pod_gets_an_eni_ip_reaches_another_node_and_is_torn_down(sim_vpc, agent_node, kube, tmp_path):
    a = sim_vpc.add_node(ZONE, SUBNET)
    b = sim_vpc.add_node(ZONE, SUBNET)
    eni = sim_vpc.vpc.create_eni(intent="k1", subnet_id=SUBNET, name="pods", secondary_ip_count=3)
    sim_vpc.vpc.attach_eni(eni.id, a.instance_id)
    assert sim_vpc.emu.wait_tasks(5.0)
    node = agent_node(a)
    latencies = [0.0]
    kubelet = _kubelet(sim_vpc, kube, a, node.conf_dir, [node.bin_dir], tmp_path / "sandboxes", latencies)
    kubelet.register()
    assert kube.get_node("node-a")["spec"]["providerID"] == f"qcloud:///{ZONE}/{a.instance_id}"

    _pod(kube, "web-0", "node-a")
    kubelet.sync_once()

    pod = _read(kube, "web-0")
    ip = pod["status"]["podIP"]
    assert pod["status"]["phase"] == "Running"
    assert ip in {p.address for p in eni.secondary_ips}
    assert pod["status"]["hostIP"] == str(a.primary_ip)
    (record,) = kubelet.runtime.store.all().values()
    assert netns_exists(record.netns) and sim_vpc.names.owns(record.netns)
    assert len(latencies) == 2 and latencies[1] > 0
    # Through the pod's ENI and the VPC router to another node, and back.
    assert ping_until(record.netns, str(b.primary_ip)) is not None
    assert ping_until(b.netns, ip) is not None

    kubelet.runtime.check(record)  # CHECK through the chain with the cached result

    kube.core.delete_namespaced_pod("web-0", "default", _preload_content=False)
    kubelet.sync_once()
    assert not netns_exists(record.netns)
    assert kubelet.runtime.store.all() == {}
    assert ping_until(b.netns, ip, attempts=1, timeout=0.5) is None


def test_a_cni_failure_becomes_an_event_and_leaves_nothing_behind(sim_vpc, kube, tmp_path):
    a = sim_vpc.add_node(ZONE, SUBNET)
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    (conf_dir / "10-broken.conflist").write_text(json.dumps(
        {"cniVersion": "1.0.0", "name": "broken", "plugins": [{"type": "no-such-plugin"}]}))
    kubelet = _kubelet(sim_vpc, kube, a, conf_dir, [Path("/nonexistent")], tmp_path / "sandboxes")
    _pod(kube, "web-1", "node-a")

    kubelet.sync_once()
    kubelet.sync_once()  # inside the backoff: no second attempt, no second event

    events = kube.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    assert [e["reason"] for e in events] == ["FailedCreatePodSandBox"]
    assert "no-such-plugin" in events[0]["message"]
    assert _read(kube, "web-1").get("status", {}).get("phase") != "Running"
    assert kubelet.runtime.store.all() == {}
    assert [ns for ns in list_netns() if "-pod-" in ns and sim_vpc.names.owns(ns)] == []
