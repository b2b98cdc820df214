"""The local cluster in static mode with two nodes per zone: a static pod keeps its IP across deletion and moves
within its zone (what both modes share is in test_both_modes.py)."""

from __future__ import annotations

import pytest

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
