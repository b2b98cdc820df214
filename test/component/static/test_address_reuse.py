"""An address one node gives back can be assigned to another node's ENI at once (the cloud hands out its lowest
free addresses first), even before the first node has removed its record of it: the new record must survive
the old one's removal, so the address never ends up assigned in the cloud with no VpcIP naming it."""

from __future__ import annotations

from eni.api.v1.constants import ANNOTATION_NOMINATED_ENI_SUBNETS
from eni.runtime.reconcile import Request
from eni.sim.testbed import AfterCall

SUBNET = {ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3a0001"}


def test_an_address_reassigned_to_another_node_before_its_old_record_is_removed_stays_recorded(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.add_pod("old", "node-1", annotations=SUBNET)
    cluster.add_pod("keep", "node-2", annotations=SUBNET)
    cluster.converge()
    given_back = cluster.held_ip("old")
    assert given_back is not None

    failures: list[str] = []

    def other_node_takes_an_ip() -> None:
        cluster.add_pod("new", "node-2", annotations=SUBNET)
        cluster.claims.reconcile(Request(namespace="default", name="new"))
        try:
            cluster.nodes.reconcile(Request(namespace="", name="node-2"))
        except Exception as e:  # the work queue would log it and retry
            failures.append(repr(e))

    hook = AfterCall(cluster.nodes._vpc, "unassign_private_ips", other_node_takes_an_ip)
    cluster.use_vpc(hook)
    cluster.delete_pod("old")
    cluster.converge()
    assert hook.ran
    assert cluster.cloud_ips() == set(cluster.vpc_ips())  # nothing assigned without a record
    assert failures == []
    assert cluster.claim("new").status.ip == given_back  # the cloud gave the same address to node-2 at once
    assert cluster.held_ip("new") == given_back
    assert cluster.vpc_ips()[given_back]["spec"]["nodeName"] == "node-2"
    assert cluster.violations == []
