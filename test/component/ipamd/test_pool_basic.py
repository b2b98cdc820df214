"""A node's pool grows to its warm target, published in its NEC exactly as the cloud has it."""

from __future__ import annotations

import dataclasses

import pytest

from eni.api.v1 import IPState
from eni.cloud.emulator import World


def test_new_node_gets_nec_and_warm_pool(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    nec = cluster.nec("node-1")
    assert nec.spec.instance_id == "ins-emu00001"
    assert nec.spec.zone == "ap-guangzhou-3"
    assert nec.spec.instance_type == "S5.MEDIUM4"
    assert (nec.spec.max_eni, nec.spec.max_ip_per_eni) == (3, 9)
    assert set(nec.spec.subnet_ids) == {"subnet-gz3a0001", "subnet-gz3b0002"}
    assert len(nec.status.ips_in_state(IPState.BOUND)) == 5
    assert len(nec.status.enis) == 1
    cluster.assert_consistent("node-1")


def test_metrics_follow_the_pool(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.agents["node-1"].want_pods = 3
    cluster.converge()
    sample = cluster.registry.get_sample_value
    assert sample("tke_eni_node_bound_ips", {"node": "node-1"}) == 8
    assert sample("tke_eni_node_used_ips", {"node": "node-1"}) == 3
    assert sample("tke_eni_node_idle_ips", {"node": "node-1"}) == 5
    assert sample("tke_eni_node_enis", {"node": "node-1"}) == 1
    assert sample("tke_eni_ipamd_cloud_calls_total", {"action": "CreateNetworkInterface", "outcome": "ok"}) == 1
    assert sample("tke_eni_node_reconcile_seconds_count") >= 2


def test_a_node_without_a_qcloud_provider_id_is_refused_with_an_event(make_cluster):
    from eni.runtime.meta import NODE
    from eni.runtime.reconcile import TerminalError

    cluster = make_cluster()
    cluster.client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "odd"},
                                 "spec": {"providerID": "aws:///us-east-1a/i-0abc"}})
    with pytest.raises(TerminalError):
        cluster.reconcile("odd")
    assert [e["involvedObject"]["name"] for e in cluster.events("InvalidProviderID")] == ["odd"]
    assert cluster.emulator.calls.count() == 0


def test_a_new_eni_brings_its_first_ips_so_the_first_pool_takes_no_assign_call(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    assert len(cluster.nec("node-1").status.ips_in_state(IPState.BOUND)) == 5
    assert cluster.emulator.calls.count("CreateNetworkInterface") == 1
    assert cluster.emulator.calls.count("AssignPrivateIpAddresses") == 0
    cluster.assert_consistent("node-1")


@pytest.mark.parametrize("emulator_world", [dataclasses.replace(
    World.default(), quotas=dataclasses.replace(World.default().quotas, unattached_eni_ips=1))])
def test_when_an_unattached_eni_may_hold_no_ips_they_are_assigned_after_the_attach(make_cluster, emulator_world):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    assert len(cluster.nec("node-1").status.ips_in_state(IPState.BOUND)) == 5
    assert cluster.emulator.calls.count("AssignPrivateIpAddresses") == 1
    assert cluster.nec("node-1").status.conditions == ()  # the refusal was not taken for the node's quota
    cluster.assert_consistent("node-1")
