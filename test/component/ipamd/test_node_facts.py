"""ipamd on the Node object, against the fake API server and the cloud emulator: the route-eni-subnet-ids
label follows the node's ENIs, --enable-node-taint taints a node that cannot get a pod IP (and only while it
cannot), and desired-route-eni-pod-num keeps a floor of bound IPs."""

from __future__ import annotations

import dataclasses

import pytest

from eni.api.v1 import IPState
from eni.api.v1.constants import (
    ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM,
    LABEL_ROUTE_ENI_SUBNET_IDS,
    RESOURCE_ENI_IP,
    WarmTargets,
    format_route_eni_subnet_ids,
)
from eni.cloud.emulator import World
from eni.cloud.emulator.world import Quotas
from eni.controllers.nodepool.nodefacts import TAINT_EFFECT, TAINT_KEY, publish_node_facts
from eni.controllers.static.claims import ClaimSettings, VpcIPClaimReconciler
from eni.controllers.static.config import StaticConfig
from eni.runtime.meta import NODE, POD, ObjectKey
from eni.runtime.reconcile import Request, TerminalError

FOREIGN = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
OURS = {"key": TAINT_KEY, "value": "true", "effect": TAINT_EFFECT}


@pytest.fixture
def emulator_world(request):
    base = World.default()
    if "no_eni_left" in request.node.name:
        return dataclasses.replace(base, quotas=Quotas(vpc_enis=3))  # the three primary ENIs use it all
    if "quota" in request.node.name:
        return dataclasses.replace(base, quotas=Quotas(vpc_enis=4))
    return base


def the_node(cluster, name):
    return cluster.client.get(NODE, ObjectKey(namespace="", name=name))


def taints(cluster, name):
    return (the_node(cluster, name).get("spec") or {}).get("taints") or []


def patch_node(cluster, name, patch):
    cluster.client.patch(NODE, ObjectKey(namespace="", name=name), patch)


def bound(cluster, name):
    return len(cluster.nec(name).status.ips_in_state(IPState.BOUND))


def test_the_subnets_label_follows_the_nodes_enis_and_goes_with_the_last_one(make_cluster):
    cluster = make_cluster(quick_release=True)
    cluster.add_node("node-2")
    cluster.agents["node-2"].want_pods = 25  # more than one ENI holds
    cluster.converge()
    subnets = {e.subnet_id for e in cluster.nec("node-2").status.enis}
    assert len(cluster.nec("node-2").status.enis) >= 2
    labels = the_node(cluster, "node-2")["metadata"]["labels"]
    assert labels[LABEL_ROUTE_ENI_SUBNET_IDS] == format_route_eni_subnet_ids(subnets)

    version = the_node(cluster, "node-2")["metadata"]["resourceVersion"]
    cluster.converge()
    assert the_node(cluster, "node-2")["metadata"]["resourceVersion"] == version  # unchanged: no write

    cluster.agents["node-2"].want_pods = 0
    cluster.restart(ip_warm=WarmTargets(min=0, max=0))
    cluster.converge(tick=True)
    assert cluster.nec("node-2").status.enis == ()
    assert LABEL_ROUTE_ENI_SUBNET_IDS not in (the_node(cluster, "node-2")["metadata"].get("labels") or {})
    assert taints(cluster, "node-2") == []  # the flag is off: never a taint
    assert cluster.violations == []


def test_a_node_at_its_eni_quota_is_tainted_while_every_ip_is_used(make_cluster):
    cluster = make_cluster(node_taint=True)
    cluster.add_node("node-2")
    patch_node(cluster, "node-2", {"spec": {"taints": [FOREIGN]}})
    cluster.converge()
    assert taints(cluster, "node-2") == [FOREIGN]  # 5 idle IPs: pods can come

    cluster.agents["node-2"].want_pods = 30  # one ENI (19 IPs) is all the VPC quota allows
    cluster.converge()
    assert bound(cluster, "node-2") == 19 and len(cluster.agents["node-2"].holding) == 19
    assert taints(cluster, "node-2") == [FOREIGN, OURS]

    cluster.agents["node-2"].want_pods = 10
    cluster.converge()
    assert taints(cluster, "node-2") == [FOREIGN]
    assert [e["reason"] for e in cluster.events("NoPodIPs") + cluster.events("PodIPsAvailable")
            if e["involvedObject"]["name"] == "node-2"] == ["NoPodIPs", "PodIPsAvailable"]
    assert cluster.violations == []


def test_a_node_that_gets_no_eni_left_is_tainted_only_with_the_flag(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    assert bound(cluster, "node-1") == 0
    assert taints(cluster, "node-1") == []  # flag off

    cluster.restart(node_taint=True)
    cluster.converge()
    assert taints(cluster, "node-1") == [OURS]
    assert LABEL_ROUTE_ENI_SUBNET_IDS not in (the_node(cluster, "node-1")["metadata"].get("labels") or {})

    patch_node(cluster, "node-1", {"spec": {"taints": [OURS, FOREIGN]}})
    cluster.restart(node_taint=False)  # turned off: ipamd takes back what it set, nothing else
    cluster.converge()
    assert taints(cluster, "node-1") == [FOREIGN]


def test_a_fresh_node_is_untainted_once_its_first_ips_are_bound(make_cluster):
    cluster = make_cluster(node_taint=True)
    cluster.add_node("node-3")
    patch_node(cluster, "node-3", {"spec": {"taints": [OURS]}})  # as ipamd leaves it while the pool is empty
    cluster.converge()
    assert bound(cluster, "node-3") == 5
    assert taints(cluster, "node-3") == []


def test_a_stale_node_read_never_overwrites_a_taint_set_meanwhile(make_cluster):
    cluster = make_cluster(node_taint=True)
    cluster.add_node("node-1")
    stale = the_node(cluster, "node-1")
    patch_node(cluster, "node-1", {"spec": {"taints": [FOREIGN]}})
    publish_node_facts(cluster.client, stale, subnet_ids=[], tainted=True)  # refused: the Node moved on
    assert taints(cluster, "node-1") == [FOREIGN]
    publish_node_facts(cluster.client, the_node(cluster, "node-1"), subnet_ids=[], tainted=True)
    assert taints(cluster, "node-1") == [FOREIGN, OURS]


def test_desired_route_eni_pod_num_keeps_a_floor_and_an_invalid_value_is_ignored(make_cluster):
    cluster = make_cluster(quick_release=True)
    cluster.add_node("node-2", annotations={ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: "12"})
    cluster.converge(tick=True)
    assert bound(cluster, "node-2") == 12  # above the 5 warm IPs, released by no tick

    cluster.agents["node-2"].want_pods = 10
    cluster.converge(tick=True)
    assert bound(cluster, "node-2") == 15  # pods + warm is above the floor now

    cluster.agents["node-2"].want_pods = 0
    patch_node(cluster, "node-2", {"metadata": {"annotations": {ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: "ten"}}})
    cluster.converge(tick=True)
    assert bound(cluster, "node-2") == 5  # ignored: back to the warm window
    refused = [e for e in cluster.events("InvalidAnnotation") if e["involvedObject"]["kind"] == "Node"]
    assert len(refused) == 1 and ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM in refused[0]["message"]
    assert refused[0]["type"] == "Warning"

    patch_node(cluster, "node-2", {"metadata": {"annotations": {ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: "500"}}})
    cluster.converge(tick=True)
    assert bound(cluster, "node-2") == cluster.nec("node-2").spec.max_eni * cluster.nec("node-2").spec.max_ip_per_eni
    assert cluster.violations == []


def test_a_node_whose_zone_has_no_configured_subnet_is_tainted(make_cluster):
    cluster = make_cluster(subnet_ids=("subnet-gz3a0001",), node_taint=True)
    cluster.add_node("node-3")  # ap-guangzhou-4: none of the configured subnets serve it
    cluster.add_node("node-1")
    cluster.converge()
    assert bound(cluster, "node-3") == 0 and taints(cluster, "node-3") == [OURS]
    assert bound(cluster, "node-1") == 5 and taints(cluster, "node-1") == []
    labels = the_node(cluster, "node-1")["metadata"]["labels"]
    assert labels[LABEL_ROUTE_ENI_SUBNET_IDS] == "subnet-gz3a0001"


def test_a_node_without_a_usable_provider_id_is_tainted_until_it_has_one(make_cluster):
    cluster = make_cluster(node_taint=True)
    cluster.add_node("node-1")
    provider_id = the_node(cluster, "node-1")["spec"]["providerID"]
    patch_node(cluster, "node-1", {"metadata": {"labels": {LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-x"}},
                                   "spec": {"providerID": None}})  # registered before the cloud controller set it
    with pytest.raises(TerminalError):
        cluster.reconcile("node-1")
    assert taints(cluster, "node-1") == [OURS]
    assert the_node(cluster, "node-1")["metadata"]["labels"][LABEL_ROUTE_ENI_SUBNET_IDS] == "subnet-x"  # unknown

    patch_node(cluster, "node-1", {"spec": {"providerID": provider_id}})
    cluster.converge()
    assert bound(cluster, "node-1") == 5 and taints(cluster, "node-1") == []
    subnets = format_route_eni_subnet_ids(e.subnet_id for e in cluster.nec("node-1").status.enis)
    assert the_node(cluster, "node-1")["metadata"]["labels"][LABEL_ROUTE_ENI_SUBNET_IDS] == subnets != "subnet-x"


def static_pass(cluster, pod_name):
    """One claim pass and one node pass of static-IP mode for a pod on node-1."""
    claims = VpcIPClaimReconciler(client=cluster.client, reader=cluster.client, recorder=cluster.recorder,
                                  settings=ClaimSettings(), clock=cluster.clock)
    for _ in range(3):
        claims.reconcile(Request(namespace="default", name=pod_name))
        cluster.reconcile("node-1")


def add_static_pod(cluster, name):
    cluster.client.create(POD, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "pause", "resources": {
            "requests": {RESOURCE_ENI_IP: "1"}, "limits": {RESOURCE_ENI_IP: "1"}}}]},
        "status": {"phase": "Running"}})


def test_static_mode_taints_a_node_with_no_eni_left(make_cluster):
    cluster = make_cluster(static=StaticConfig(), node_taint=True)
    cluster.add_node("node-1")
    add_static_pod(cluster, "web-0")
    static_pass(cluster, "web-0")
    assert cluster.nec("node-1").status.enis == ()
    assert taints(cluster, "node-1") == [OURS]


def test_static_mode_leaves_a_node_that_serves_its_pods_untainted(make_cluster):
    cluster = make_cluster(static=StaticConfig(), node_taint=True)
    cluster.add_node("node-1")
    patch_node(cluster, "node-1", {"spec": {"taints": [FOREIGN, OURS]}})
    add_static_pod(cluster, "web-0")
    static_pass(cluster, "web-0")
    assert [ip.pod.name for e in cluster.nec("node-1").status.enis for ip in e.ips if ip.pod] == ["web-0"]
    assert taints(cluster, "node-1") == [FOREIGN]
    subnets = format_route_eni_subnet_ids(e.subnet_id for e in cluster.nec("node-1").status.enis)
    assert the_node(cluster, "node-1")["metadata"]["labels"][LABEL_ROUTE_ENI_SUBNET_IDS] == subnets
