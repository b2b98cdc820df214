"""Delete policies: Never keeps the IP for the next pod of the same name (same node or another node of
the zone, moved by MigratePrivateIpAddress after the old node's agent released it); Immediate gives
the IP back to the VPC."""

from __future__ import annotations

from eni.api.v1 import ClaimPhase, IPState
from eni.api.v1.constants import ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.runtime.meta import NODE, ObjectKey
from eni.runtime.reconcile import Request

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}


def test_a_pod_gets_its_claimed_ip_reserved_for_it_on_its_node(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("web-0", "node-1")
    cluster.converge()
    claim = cluster.claim("web-0")
    assert claim is not None and claim.status.phase is ClaimPhase.BOUND
    ip = cluster.held_ip("web-0")
    assert ip == claim.status.ip and claim.status.node_name == "node-1"
    entries = [e for eni in cluster.nodes_nec("node-1").status.enis for e in eni.ips]
    assert [(e.ip, e.state, e.pod.namespace, e.pod.name) for e in entries] == [(ip, IPState.BOUND, "default", "web-0")]
    vip = cluster.vpc_ips()[ip]
    assert vip["spec"]["type"] == "Pod" and vip["spec"]["claimRef"]["uid"] == claim.metadata.uid
    assert cluster.violations == []


def test_never_keeps_the_ip_for_the_next_pod_of_the_same_name_on_the_same_node(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    first = cluster.held_ip("db-0")
    cluster.delete_pod("db-0")
    cluster.converge()
    claim = cluster.claim("db-0")
    assert claim is not None and claim.status.phase is ClaimPhase.RETAINED and claim.spec.pod_uid == ""
    assert first in cluster.cloud_ips()
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    assert cluster.held_ip("db-0") == first
    assert cluster.claim("db-0").status.phase is ClaimPhase.BOUND
    assert cluster.violations == []


def test_never_moves_the_ip_to_another_node_of_the_same_zone(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    first = cluster.held_ip("db-0")
    cluster.delete_pod("db-0")
    cluster.converge()
    cluster.add_pod("db-0", "node-2", annotations=NEVER)
    cluster.converge()
    assert cluster.held_ip("db-0") == first
    assert cluster.agents["node-2"].holding[first][1] == "db-0"
    assert first not in {e.ip for eni in cluster.nodes_nec("node-1").status.enis for e in eni.ips}
    claim = cluster.claim("db-0")
    assert claim.status.node_name == "node-2" and claim.status.ip == first
    assert cluster.emulator.calls.count("MigratePrivateIpAddress") == 1
    assert cluster.violations == []


def test_a_retained_ip_cannot_follow_its_pod_into_another_zone(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-3")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    first = cluster.held_ip("db-0")
    cluster.delete_pod("db-0")
    cluster.converge()
    cluster.add_pod("db-0", "node-3", annotations=NEVER)
    for _ in range(3):
        cluster.step()
    assert cluster.held_ip("db-0") is None
    assert first in cluster.cloud_ips() and cluster.claim("db-0").status.ip == first
    warnings = cluster.events("ZoneMismatch")
    assert warnings and warnings[0]["involvedObject"]["name"] == "db-0" and warnings[0]["type"] == "Warning"
    assert "ap-guangzhou-4" in warnings[0]["message"]


def test_immediate_gives_the_ip_back_to_the_vpc_with_the_pod(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("web-0", "node-1")
    cluster.converge()
    ip = cluster.held_ip("web-0")
    cluster.delete_pod("web-0")
    cluster.converge()
    assert cluster.claim("web-0") is None
    assert ip not in cluster.cloud_ips() and ip not in cluster.vpc_ips()
    assert cluster.nodes_nec("node-1").status.enis == ()  # the empty ENI went too
    assert cluster.violations == []


def test_a_retained_ip_outlives_the_removal_of_its_node(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    first = cluster.held_ip("db-0")
    cluster.delete_pod("db-0")
    cluster.converge()
    cluster.client.delete(NODE, ObjectKey("", "node-1"))
    del cluster.agents["node-1"]
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert first not in cluster.cloud_ips()  # its ENI went with the node
    cluster.add_pod("db-0", "node-2", annotations=NEVER)
    cluster.converge()
    assert cluster.held_ip("db-0") == first  # assigned again by address
    assert cluster.violations == []
