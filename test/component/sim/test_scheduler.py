"""The scheduler stand-in binds pods where their extended resources fit and asks the extender for eni-ip pods."""

from __future__ import annotations

from eni.sim.scheduler import ExtenderConfig, SimScheduler


def _node_of(kube, name):
    return kube.core.read_namespaced_pod(name, "default", _preload_content=False).json()["spec"].get("nodeName")


def test_binds_pods_only_where_eni_ips_are_left(kube, add_node, make_pod):
    add_node("node-a", eni_ips=2)
    add_node("node-b", eni_ips=1)
    add_node("node-c", eni_ips=10, ready=False)
    for i in range(4):
        make_pod(f"web-{i}")
    decisions = dict(SimScheduler(kube).schedule_once())

    placed = [_node_of(kube, f"web-{i}") for i in range(4)]
    assert sorted(n for n in placed if n) == ["node-a", "node-a", "node-b"]
    assert "node-c" not in placed
    (unplaced,) = [d for d in decisions.values() if d.node is None]
    assert set(unplaced.failed.values()) == {"Insufficient tke.cloud.tencent.com/eni-ip"}


def test_a_pod_that_fits_nowhere_gets_one_failed_scheduling_event(kube, add_node, make_pod):
    add_node("node-a", eni_ips=0)
    make_pod("lonely")
    scheduler = SimScheduler(kube)
    scheduler.schedule_once()
    scheduler.schedule_once()
    events = kube.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    assert [e["reason"] for e in events] == ["FailedScheduling"]
    assert "0/1 nodes are available: 1 Insufficient tke.cloud.tencent.com/eni-ip." == events[0]["message"]
    assert _node_of(kube, "lonely") is None


def test_node_selector_is_honoured_and_plain_pods_need_no_extender(kube, add_node, make_pod, extender):
    add_node("node-a", zone="ap-guangzhou-3")
    add_node("node-b", zone="ap-guangzhou-4")
    make_pod("zonal", eni_ips=0, node_selector={"topology.kubernetes.io/zone": "ap-guangzhou-4"})
    SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender.url)).schedule_once()
    assert _node_of(kube, "zonal") == "node-b"
    assert extender.requests["filter"] == []


def test_eni_ip_pods_go_through_the_extender_filter_and_prioritize(kube, add_node, make_pod, extender):
    for name in ("node-a", "node-b", "node-c"):
        add_node(name)
    extender.reject["node-a"] = "[ip-scheduler] subnet of the pod's IP is in another zone"
    extender.scores.update({"node-b": 1, "node-c": 7})
    make_pod("static-0")
    (key, decision), = SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender.url)).schedule_once()

    assert key == "default/static-0" and decision.used_extender
    assert _node_of(kube, "static-0") == "node-c"
    (sent,) = extender.requests["filter"]
    assert sent["Pod"]["metadata"]["name"] == "static-0"
    assert sorted(n["metadata"]["name"] for n in sent["Nodes"]["items"]) == ["node-a", "node-b", "node-c"]
    (ranked,) = extender.requests["prioritize"]
    assert sorted(n["metadata"]["name"] for n in ranked["Nodes"]["items"]) == ["node-b", "node-c"]


def test_an_unreachable_extender_binds_nothing(kube, add_node, make_pod):
    add_node("node-a")
    make_pod("static-1")
    (_, decision), = SimScheduler(
        kube, extender=ExtenderConfig(url_prefix="http://127.0.0.1:9/none", timeout=1.0)).schedule_once()
    assert decision.node is None and "extender" in decision.failed["*"]
    assert _node_of(kube, "static-1") is None
