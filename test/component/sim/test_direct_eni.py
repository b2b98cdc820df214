"""Exclusive (direct) ENIs in the stand-ins: the pod manifest asks for direct-eni, the scheduler stand-in
places such pods only where direct-eni is left and sends them to the extender, the kubelet stand-in publishes
and hands out the agent's real direct-eni and eip devices, and the ledger check knows where an exclusive ENI's
link may be."""

from __future__ import annotations

import shutil
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from eni.agent.deviceplugin import DIRECT_ENI as PLUGIN_DIRECT_ENI
from eni.agent.deviceplugin import EIP as PLUGIN_EIP
from eni.agent.deviceplugin import DevicePluginServer, DevicePluginSettings
from eni.sim.kubelet import FakeDeviceManager
from eni.sim.kubelet.kubelet import KubeletTimings, SimKubelet
from eni.sim.kubelet.objects import NodeSpec, node_object, node_status
from eni.sim.kubelet.sandbox import SandboxRecord, SandboxStore
from eni.sim.ledgercheck import CloudEni, CloudIp, PodView, Views, evaluate
from eni.sim.podops import create_pod, pod_manifest
from eni.sim.scheduler import ExtenderConfig, SimScheduler

DIRECT_ENI = "tke.cloud.tencent.com/direct-eni"
ENI_IP = "tke.cloud.tencent.com/eni-ip"
EIP = "tke.cloud.tencent.com/eip"
NETWORKS = "tke.cloud.tencent.com/networks"
NOW = 1_000_000.0


def test_a_direct_eni_pod_asks_for_one_direct_eni_and_no_eni_ip():
    pod = pod_manifest("direct-0", network="tke-direct-eni", annotations={"a": "b"})
    (container,) = pod["spec"]["containers"]
    assert container["resources"] == {"requests": {DIRECT_ENI: "1"}, "limits": {DIRECT_ENI: "1"}}
    assert pod["metadata"]["annotations"] == {"a": "b", NETWORKS: "tke-direct-eni"}


def test_a_shared_pod_may_name_its_network_and_ask_for_an_eip():
    pod = pod_manifest("web-0", network="tke-route-eni", eip=True)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {ENI_IP: "1", EIP: "1"}
    assert pod["metadata"]["annotations"] == {NETWORKS: "tke-route-eni"}
    plain = pod_manifest("web-1")
    assert plain["metadata"]["annotations"] == {}
    assert plain["spec"]["containers"][0]["resources"]["requests"] == {ENI_IP: "1"}


def test_an_unknown_network_is_refused():
    with pytest.raises(ValueError, match="unknown network 'tke-overlay'"):
        pod_manifest("x", network="tke-overlay")


def _add_node(kube, name, *, direct_enis):
    spec = NodeSpec(name=name, instance_id="ins-" + name[-8:].rjust(8, "0"), zone="ap-guangzhou-3",
                    region="ap-guangzhou", instance_type="S5.LARGE8", primary_ip="10.0.1.10")
    kube.create_node(node_object(spec))
    status = node_status(spec, {ENI_IP: (10, 10), DIRECT_ENI: (4, direct_enis)}, now=datetime.now(timezone.utc))
    kube.patch_node_status(name, status)


def _node_of(kube, name):
    return kube.core.read_namespaced_pod(name, "default", _preload_content=False).json()["spec"].get("nodeName")


def test_direct_eni_pods_land_only_where_direct_enis_are_left(kube):
    _add_node(kube, "node-a", direct_enis=1)
    _add_node(kube, "node-b", direct_enis=0)
    for i in range(2):
        create_pod(kube, pod_manifest(f"direct-{i}", network="tke-direct-eni"))
    decisions = dict(SimScheduler(kube).schedule_once())

    placed = [_node_of(kube, f"direct-{i}") for i in range(2)]
    assert sorted(placed, key=str) == [None, "node-a"]
    (unplaced,) = [d for d in decisions.values() if d.node is None]
    assert unplaced.failed == {"node-a": f"Insufficient {DIRECT_ENI}", "node-b": f"Insufficient {DIRECT_ENI}"}


def test_direct_eni_pods_go_through_the_extender(kube, extender):
    _add_node(kube, "node-a", direct_enis=2)
    _add_node(kube, "node-b", direct_enis=2)
    extender.reject["node-a"] = "[ip-scheduler] the pod's kept ENI is in another zone"
    create_pod(kube, pod_manifest("direct-0", network="tke-direct-eni"))
    ((_, decision),) = SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender.url)).schedule_once()

    assert decision.used_extender and decision.node == "node-b"
    assert [r["Pod"]["metadata"]["name"] for r in extender.requests["filter"]] == ["direct-0"]


# ---- the ledger check -------------------------------------------------------------------------------------

NODE_NS, POD_NS, OTHER_POD_NS = "tkesim-000000-ins-node0001", "tkesim-000000-pod-aaaa", "tkesim-000000-pod-bbbb"


def _direct_cluster() -> Views:
    """node-1 with its primary ENI, a direct ENI held by pod db-0 and a free direct ENI in the node namespace."""
    enis = {
        "eni-prim0001": CloudEni("eni-prim0001", "20:00:00:00:00:01", "ins-node0001", "10.0.1.5", True),
        "eni-dire0001": CloudEni("eni-dire0001", "20:00:00:00:00:02", "ins-node0001", "10.0.2.7", False, True),
        "eni-dire0002": CloudEni("eni-dire0002", "20:00:00:00:00:03", "ins-node0001", "10.0.2.8", False, True),
    }
    return Views(
        cloud_ips={"10.0.1.5": CloudIp("10.0.1.5", "eni-prim0001", "ins-node0001", True),
                   "10.0.2.7": CloudIp("10.0.2.7", "eni-dire0001", "ins-node0001", True),
                   "10.0.2.8": CloudIp("10.0.2.8", "eni-dire0002", "ins-node0001", True)},
        cloud_secondary_enis={"eni-dire0001", "eni-dire0002"},
        cloud_enis=enis,
        node_instances={"node-1": "ins-node0001"},
        crd_enis={"eni-dire0001", "eni-dire0002"},
        crd_ips={"10.0.2.7": "nec/node-1", "10.0.2.8": "nec/node-1"},
        pods=[PodView("default/db-0", "node-1", "10.0.2.7", "Running", False, POD_NS)],
        node_netns={"node-1": NODE_NS},
        links={"20:00:00:00:00:01": [NODE_NS], "20:00:00:00:00:02": [POD_NS], "20:00:00:00:00:03": [NODE_NS]},
        links_seen=True,
    )


def _problems(views):
    return {(p.kind, p.subject) for p in evaluate(views, now=NOW).problems}


def test_an_exclusive_eni_in_its_pod_and_a_free_one_in_the_node_pass():
    report = evaluate(_direct_cluster(), now=NOW)
    assert report.ok, report.problems
    assert [r[0] for r in report.rows] == ["10.0.2.7"]
    assert report.rows[0][4] == "default/db-0 (node-1, Running)"


def test_an_attached_eni_with_no_link_anywhere_is_missing():
    views = _direct_cluster()
    views.links["20:00:00:00:00:03"] = []
    assert _problems(views) == {("missing", "eni-dire0002")}


def test_an_eni_left_in_the_namespace_of_a_pod_that_does_not_hold_it_is_stranded():
    views = _direct_cluster()
    views.pods.append(PodView("default/web-0", "node-1", "10.0.2.20", "Pending", False, OTHER_POD_NS))
    views.links["20:00:00:00:00:03"] = [OTHER_POD_NS]
    (problem,) = evaluate(views, now=NOW).problems
    assert (problem.kind, problem.subject) == ("stranded", "eni-dire0002")
    assert "default/web-0" in problem.detail


def test_a_running_direct_eni_pod_whose_eni_is_back_on_the_node_is_unplugged():
    views = _direct_cluster()
    views.links["20:00:00:00:00:02"] = [NODE_NS]
    assert _problems(views) == {("unplugged", "default/db-0")}


def test_a_shared_eni_in_a_pod_namespace_is_stranded_even_if_the_pod_has_its_primary_ip():
    views = _direct_cluster()
    views.cloud_enis["eni-dire0001"] = CloudEni("eni-dire0001", "20:00:00:00:00:02", "ins-node0001", "10.0.2.7",
                                                False, direct=False)
    assert _problems(views) == {("stranded", "eni-dire0001")}


def test_an_eni_of_a_detached_or_foreign_instance_is_not_looked_for():
    views = _direct_cluster()
    views.cloud_enis["eni-kept0001"] = CloudEni("eni-kept0001", "20:00:00:00:00:09", "", "10.0.2.9", False, True)
    views.cloud_secondary_enis.add("eni-kept0001")
    views.crd_enis.add("eni-kept0001")
    assert evaluate(views, now=NOW).ok


def test_without_the_data_plane_view_links_are_not_judged():
    views = _direct_cluster()
    views.links_seen = False
    views.links = {}
    assert evaluate(views, now=NOW).ok


# ---- the kubelet stand-in with the agent's real direct-eni and eip device plugins ----------------------------

@pytest.fixture
def direct_devices():
    folder = Path(tempfile.mkdtemp(prefix="simdp-", dir="/tmp"))  # unix socket paths must stay short
    manager = FakeDeviceManager(folder, call_timeout=5.0)
    manager.start()
    stop = threading.Event()
    settings = DevicePluginSettings(plugin_dir=folder, poll_interval=0.05, stream_heartbeat=0.5, shutdown_grace=1.0)
    servers = [DevicePluginServer(PLUGIN_DIRECT_ENI, settings, capacity=4, healthy=1),
               DevicePluginServer(PLUGIN_EIP, settings, capacity=2, healthy=2)]
    threads = [threading.Thread(target=s.start, args=(stop,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        assert manager.wait_until(lambda: manager.counts(DIRECT_ENI).capacity == 4
                                  and manager.counts(EIP).capacity == 2, timeout=10)
        yield manager
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        manager.stop()
        shutil.rmtree(folder, ignore_errors=True)


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


def test_the_kubelet_publishes_direct_eni_and_eip_and_admits_pods_only_up_to_the_healthy_enis(
        direct_devices, kube, tmp_path):
    spec = NodeSpec(name="node-1", instance_id="ins-abcd1234", zone="ap-guangzhou-3", region="ap-guangzhou",
                    instance_type="S5.LARGE8", primary_ip="10.0.1.5")
    kubelet = SimKubelet(spec=spec, api=kube, runtime=_Runtime(SandboxStore(tmp_path / "sb")), devices=direct_devices,
                         timings=KubeletTimings(backoff_initial=60))
    kubelet.register()
    status = kube.get_node("node-1")["status"]
    assert (status["capacity"][DIRECT_ENI], status["allocatable"][DIRECT_ENI]) == ("4", "1")
    assert (status["capacity"][EIP], status["allocatable"][EIP]) == ("2", "2")
    for name in ("gw-0", "gw-1"):
        body = pod_manifest(name, network="tke-direct-eni", eip=True)
        body["spec"]["nodeName"] = "node-1"
        create_pod(kube, body)
    kubelet.sync_once()
    phases = {p["metadata"]["name"]: (p.get("status") or {}).get("phase") for p in kube.list_pods()["items"]}
    assert sorted(phases.values()) == ["Pending", "Running"]
    (devices,) = kubelet.assigned_devices().values()
    assert sorted(devices) == [DIRECT_ENI, EIP] and all(len(ids) == 1 for ids in devices.values())
    events = kube.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    assert [(e["reason"], f"insufficient {DIRECT_ENI}" in e["message"]) for e in events] == \
        [("UnexpectedAdmissionError", True)]


def test_the_report_says_where_each_exclusive_eni_is():
    views = _direct_cluster()
    views.cloud_enis["eni-kept0001"] = CloudEni("eni-kept0001", "20:00:00:00:00:09", "", "10.0.2.9", False, True)
    assert evaluate(views, now=NOW).eni_rows == [
        ("eni-dire0001", "10.0.2.7", "node-1", "pod default/db-0"),
        ("eni-dire0002", "10.0.2.8", "node-1", "node"),
        ("eni-kept0001", "10.0.2.9", "-", "-"),
    ]
