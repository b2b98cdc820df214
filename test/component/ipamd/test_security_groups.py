"""Security groups: inherited in order from the instance, edited through the NEC, removed and restored
by the node annotation; every ENI of the node follows at once."""

from __future__ import annotations

from eni.api.v1 import NODE_ENI_CONFIG
from eni.api.v1.constants import ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS
from eni.runtime.meta import NODE, ObjectKey


def groups_of_enis(cluster, name):
    return {tuple(e.security_group_ids) for e in cluster.cloud_enis("ins-emu00001")}


def test_groups_follow_the_nec_and_the_node_annotation(make_cluster):
    cluster = make_cluster(security_groups_enabled=True)
    cluster.add_node("node-1")
    cluster.agents["node-1"].want_pods = 10  # two ENIs
    cluster.converge()
    assert cluster.nec("node-1").spec.security_group_ids == ("sg-emu00001",)  # the instance's, inherited
    assert groups_of_enis(cluster, "node-1") == {("sg-emu00001",)}

    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name="node-1"),
                         {"spec": {"securityGroupIds": ["sg-emu00002", "sg-emu00001"]}})
    cluster.converge()
    assert groups_of_enis(cluster, "node-1") == {("sg-emu00002", "sg-emu00001")}  # order kept

    for value, expected in (("yes", {()}), ("no", {("sg-emu00002", "sg-emu00001")})):
        cluster.client.patch(NODE, ObjectKey(namespace="", name="node-1"),
                             {"metadata": {"annotations": {ANNOTATION_DISABLE_NODE_ENI_SECURITY_GROUPS: value}}})
        cluster.converge()
        assert groups_of_enis(cluster, "node-1") == expected, value
    assert not cluster.events("SecurityGroupSyncFailed")


def test_configured_groups_win_over_the_instances(make_cluster):
    cluster = make_cluster(security_groups_enabled=True, security_group_ids=("sg-emu00002",))
    cluster.add_node("node-1")
    cluster.converge()
    assert cluster.nec("node-1").spec.security_group_ids == ("sg-emu00002",)
    assert groups_of_enis(cluster, "node-1") == {("sg-emu00002",)}


def test_without_the_flag_groups_are_left_alone(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name="node-1"),
                         {"spec": {"securityGroupIds": ["sg-emu00002"]}})
    cluster.converge()
    assert cluster.emulator.calls.count("ModifyNetworkInterfaceAttribute") == 0


def test_a_failed_sync_is_a_warning_on_nec_and_node_and_the_pool_still_grows(make_cluster):
    cluster = make_cluster(security_groups_enabled=True, security_group_ids=("sg-emu00002",))
    cluster.add_node("node-1")
    cluster.converge()
    cluster.emulator.faults.internal_error("ModifyNetworkInterfaceAttribute", probability=1.0)
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name="node-1"),
                         {"spec": {"securityGroupIds": ["sg-emu00001"]}})
    cluster.agents["node-1"].want_pods = 6
    cluster.converge()
    assert len(cluster.nec("node-1").status.enis) == 2  # growth did not wait for the groups
    kinds = {e["involvedObject"]["kind"] for e in cluster.events("SecurityGroupSyncFailed")}
    assert kinds == {"NodeENIConfig", "Node"}
    cluster.emulator.faults.clear()
    cluster.converge()
    assert groups_of_enis(cluster, "node-1") == {("sg-emu00001",)}
