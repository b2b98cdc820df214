"""A node's pool grows to its warm target, published in its NEC exactly as the cloud has it."""

from __future__ import annotations

from eni.api.v1 import IPState


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
