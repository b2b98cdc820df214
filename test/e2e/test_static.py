"""The local cluster in static mode with two nodes per zone: a static pod keeps its IP across deletion and moves
within its zone; a static direct-ENI pod's kept ENI (detached, owned by the pod's name) comes back with the next
pod of that name, on another node of its zone, and goes with ``kubectl delete veni`` (what both modes share is
in test_both_modes.py and test_direct_eni.py)."""

from __future__ import annotations

import subprocess

import pytest

from eni.sim.enilinks import eni_links
from eni.sim.lookup import (
    LookupTimeout,
    attached_to,
    cloud_enis,
    direct_eni_of_ip,
    eventually,
    node_eni_config,
    vpc_eni,
)

# One cluster per module: keep a module's tests on one xdist worker (with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("e2e-static")

STATIC = {"tke.cloud.tencent.com/vpc-ip-claim-delete-policy": "Never"}


@pytest.fixture(scope="module")
def cluster(sim_cluster):
    return sim_cluster(mode="static", nodes=4)  # two nodes per zone, so a pod can move within its zone


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_static_pod_keeps_its_ip_across_deletion_and_moves_within_its_zone(cluster):
    cluster.create("db-0", annotations=STATIC)
    first = cluster.running(["db-0"])["db-0"]
    ip, node = first["status"]["podIP"], first["spec"]["nodeName"]
    zone = next(n["zone"] for n in cluster.nodes if n["name"] == node)

    cluster.delete("db-0")
    cluster.gone(["db-0"])
    cluster.create("db-0", annotations=STATIC)
    again = cluster.running(["db-0"])["db-0"]
    assert again["status"]["podIP"] == ip

    # Cordon its node: the pod must move to the other node of its zone and still keep the IP.
    cluster.api.patch_node(node, {"spec": {"unschedulable": True}})
    try:
        cluster.delete("db-0")
        cluster.gone(["db-0"])
        cluster.create("db-0", annotations=STATIC)
        moved = cluster.running(["db-0"], timeout=90)["db-0"]
    finally:
        cluster.api.patch_node(node, {"spec": {"unschedulable": False}})
    target = moved["spec"]["nodeName"]
    assert target != node
    assert next(n["zone"] for n in cluster.nodes if n["name"] == target) == zone
    assert moved["status"]["podIP"] == ip
    result = cluster.check()
    assert result.returncode == 0, result.stdout


def _kubectl(cluster, *args):
    return subprocess.run(["kubectl", "--kubeconfig", cluster.summary["kubeconfig"], *args], capture_output=True,
                          text=True, timeout=60, check=False)


def _eventually(what, probe, *, timeout=60.0):
    try:
        return eventually(what, probe, timeout=timeout)
    except LookupTimeout as e:
        pytest.fail(str(e))


@pytest.mark.timeout(300)
def test_a_kept_direct_eni_comes_back_with_the_pod_of_the_same_name(cluster):
    endpoint = cluster.summary["cloud"]["endpoint"]
    cluster.create("direct-db-0", network="tke-direct-eni", annotations=STATIC)
    first = cluster.running(["direct-db-0"], timeout=90)["direct-db-0"]
    ip, node_name = first["status"]["podIP"], first["spec"]["nodeName"]
    eni = direct_eni_of_ip(node_eni_config(cluster.api, node_name), ip)
    assert eni is not None, f"no direct ENI of {node_name} has the pod's IP {ip} as its primary IP"
    eni_id = eni["eniId"]

    cluster.delete("direct-db-0")
    cluster.gone(["direct-db-0"])
    kept = _eventually(f"{eni_id} detached and kept in the cloud", lambda: (
        e if (e := cloud_enis(endpoint).get(eni_id)) and not attached_to(e) else None))
    assert [a["PrivateIpAddress"] for a in kept["PrivateIpAddressSet"] if a["Primary"]] == [ip]
    record = _eventually(f"VpcENI {eni_id} kept for default/direct-db-0", lambda: (
        v if (v := vpc_eni(cluster.api, eni_id)) and not v["spec"].get("nodeName") and v["spec"].get("ownerPod")
        else None))
    owner = record["spec"]["ownerPod"]
    assert (owner["namespace"], owner["name"]) == ("default", "direct-db-0")

    # Its node cordoned, the next pod of that name lands on the other node of the zone and gets the ENI there.
    cluster.api.patch_node(node_name, {"spec": {"unschedulable": True}})
    try:
        cluster.create("direct-db-0", network="tke-direct-eni", annotations=STATIC)
        again = cluster.running(["direct-db-0"], timeout=90)["direct-db-0"]
    finally:
        cluster.api.patch_node(node_name, {"spec": {"unschedulable": False}})
    assert again["status"]["podIP"] == ip
    zone = {n["name"]: n["zone"] for n in cluster.nodes}
    assert again["spec"]["nodeName"] != node_name
    assert zone[again["spec"]["nodeName"]] == zone[node_name], "a kept ENI cannot leave its subnet's zone"
    instance = next(n["instance_id"] for n in cluster.nodes if n["name"] == again["spec"]["nodeName"])
    assert attached_to(cloud_enis(endpoint)[eni_id]) == instance
    links = eni_links(cluster.names.pod(again["metadata"]["uid"]), router=cluster.names.router)
    assert [(link.mac, link.ifname) for link in links] == [(eni["mac"].lower(), "eth0")]
    result = cluster.check()
    assert result.returncode == 0, result.stdout

    # Reclaimed by hand once its pod is gone: `kubectl delete veni` deletes the kept ENI in the cloud.
    cluster.delete("direct-db-0")
    cluster.gone(["direct-db-0"])
    _eventually(f"{eni_id} detached again", lambda: not attached_to(cloud_enis(endpoint).get(eni_id) or {}))
    deleted = _kubectl(cluster, "delete", "veni", eni_id, "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    _eventually(f"{eni_id} deleted in the cloud", lambda: eni_id not in cloud_enis(endpoint))
    result = cluster.check()
    assert result.returncode == 0, result.stdout
