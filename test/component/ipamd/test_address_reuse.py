"""Warm pools of two nodes in one subnet: the cloud hands out its lowest free addresses first, so an address one
node gives back goes to the other node's next assign at once, possibly before the first node has removed its
record. The second node's record must survive that removal: an address is never left assigned in the cloud with
no VpcIP naming it (the leak ``tke-eni-sim check`` reports)."""

from __future__ import annotations

from typing import Any

from eni.api.v1 import VPC_IP
from eni.api.v1.constants import WarmTargets
from eni.sim.testbed import AfterCall

SUBNET = "subnet-gz3a0001"


def _use_vpc(cluster, vpc: Any) -> None:
    cluster.reconciler._vpc = vpc
    for part in ("_enis", "_ips", "_necs", "_sgs"):
        getattr(cluster.reconciler, part)._vpc = vpc


def test_an_address_the_other_node_takes_before_its_old_record_is_removed_stays_recorded(make_cluster):
    cluster = make_cluster(subnet_ids=(SUBNET,), ip_warm=WarmTargets(min=1, max=1), quick_release=True)
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.agents["node-1"].want_pods = 4
    cluster.converge()

    def other_node_grows() -> None:
        cluster.agents["node-2"].want_pods = 4
        cluster.agents["node-2"].step()
        cluster.reconcile("node-2")

    hook = AfterCall(cluster.adapter, "unassign_private_ips", other_node_grows)
    _use_vpc(cluster, hook)
    cluster.agents["node-1"].want_pods = 0
    cluster.converge(tick=True)
    assert hook.ran
    _eni, freed = hook.args
    node_2 = {ip.address for e in cluster.cloud_enis("ins-emu00002") for ip in e.secondary_ips}
    assert set(freed) & node_2  # the cloud gave node-2 an address node-1 had just given back
    vips = {o["metadata"]["name"]: o for o in cluster.client.list(VPC_IP)}
    cloud = {ip["PrivateIpAddress"] for e in cluster.emulator.snapshot()["networkInterfaces"]
             for ip in e["PrivateIpAddressSet"] if not ip.get("Primary")}
    assert cloud == set(vips)  # nothing assigned without a record, no record without an address
    assert {vips[a]["spec"]["nodeName"] for a in node_2} == {"node-2"}
    cluster.assert_consistent("node-1")
    cluster.assert_consistent("node-2")
    assert cluster.violations == []
