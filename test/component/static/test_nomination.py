"""nominated-vpc-ip, nominated-eni-subnets and --only-nominated-eni-subnets; bad annotations refused."""

from __future__ import annotations

from eni.api.v1.constants import ANNOTATION_NETWORKS, ANNOTATION_NOMINATED_ENI_SUBNETS, ANNOTATION_NOMINATED_VPC_IP
from eni.controllers.static.config import StaticConfig


def test_a_nominated_ip_is_assigned_exactly(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.1.77"})
    cluster.converge()
    assert cluster.held_ip("db-0") == "10.0.1.77"
    vip = cluster.vpc_ips()["10.0.1.77"]
    assert vip["spec"]["subnetId"] == "subnet-gz3a0001" and vip["status"]["phase"] == "Assigned"
    assert cluster.violations == []


def test_a_nominated_ip_another_claim_holds_is_never_given_twice(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("a", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.1.77"})
    cluster.converge()
    cluster.add_pod("b", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.1.77"})
    for _ in range(3):
        cluster.step()
    assert cluster.held_ip("a") == "10.0.1.77" and cluster.held_ip("b") is None
    (warning,) = [e for e in cluster.events("IPConflict") if e["involvedObject"]["name"] == "b"][:1]
    assert warning["type"] == "Warning" and "10.0.1.77" in warning["message"]
    assert "IPConflict" in cluster.claim("b").status.message
    assert cluster.violations == []


def test_a_nominated_ip_outside_the_nodes_zone_is_refused_with_a_reason(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.3.9"})
    for _ in range(2):
        cluster.step()
    assert cluster.held_ip("db-0") is None and "10.0.3.9" not in cluster.cloud_ips()
    assert [e["involvedObject"]["name"] for e in cluster.events("NoUsableSubnet")][:1] == ["db-0"]


def test_nominated_subnets_decide_where_the_ip_comes_from(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    for name, subnet in (("a", "subnet-gz3a0001"), ("b", "subnet-gz3b0002")):
        cluster.add_pod(name, "node-1", annotations={ANNOTATION_NOMINATED_ENI_SUBNETS: subnet})
    cluster.converge()
    assert cluster.held_ip("a").startswith("10.0.1.") and cluster.held_ip("b").startswith("10.0.2.")
    assert sorted(e.subnet_id for e in cluster.nodes_nec("node-1").status.enis) == ["subnet-gz3a0001",
                                                                                  "subnet-gz3b0002"]


def test_only_nominated_subnets_keeps_a_nominated_subnet_for_its_pods(make_cluster):
    cluster = make_cluster(static=StaticConfig(only_nominated_subnets=True))
    cluster.add_node("node-1")
    cluster.add_pod("picky", "node-1", annotations={ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3b0002"})
    cluster.converge()
    for i in range(4):
        cluster.add_pod(f"any-{i}", "node-1")
    cluster.converge()
    assert cluster.held_ip("picky").startswith("10.0.2.")
    assert all(cluster.held_ip(f"any-{i}").startswith("10.0.1.") for i in range(4))


def test_only_nominated_subnets_keeps_a_subnet_an_exclusive_eni_pod_nominates(make_cluster):
    """An exclusive-ENI pod has no VpcIPClaim: its own annotation reserves the subnet from shared-ENI pods."""
    cluster = make_cluster(static=StaticConfig(only_nominated_subnets=True))
    cluster.add_node("node-1")
    cluster.add_pod("direct", "node-2", annotations={ANNOTATION_NETWORKS: "tke-direct-eni",
                                                      ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3b0002"})
    for i in range(3):
        cluster.add_pod(f"any-{i}", "node-1")
    cluster.converge()
    assert cluster.claim("direct") is None
    assert all(cluster.held_ip(f"any-{i}").startswith("10.0.1.") for i in range(3))


def test_a_bad_annotation_creates_nothing_and_says_why(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("odd", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.1.300"})
    cluster.converge()
    assert cluster.claim("odd") is None and cluster.cloud_ips() == set()
    (warning,) = cluster.events("InvalidAnnotation")
    assert warning["type"] == "Warning" and "nominated-vpc-ip" in warning["message"]


def test_a_nominated_ip_given_back_and_assigned_again_to_the_same_eni_is_really_assigned(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.1.77"})
    cluster.converge()
    (eni,) = [e for e in cluster.nodes_nec("node-1").status.enis if any(ip.ip == "10.0.1.77" for ip in e.ips)]
    cluster.nodes._ips.unassign(eni.eni_id, ["10.0.1.77"])
    assert "10.0.1.77" not in cluster.cloud_ips()
    cluster.nodes._static._static.assign_address(node="node-1", eni_id=eni.eni_id, subnet_id=eni.subnet_id,
                                                 address="10.0.1.77", claim=cluster.claim("db-0"))
    assert "10.0.1.77" in cluster.cloud_ips()  # not an old reply replayed for a reused ClientToken
    assert cluster.vpc_ips()["10.0.1.77"]["status"]["phase"] == "Assigned"
