"""VpcIP writes when one address moves between ENIs faster than its records follow (the fake API server):
recording on a new ENI re-homes a record another ENI left behind, and a removal never deletes a record that
names another ENI than the one the address left, or that changed since it was read."""

from __future__ import annotations

from eni.api.v1 import VPC_IP, ObjectReference, VpcIPPhase, VpcIPType
from eni.controllers.eni.records import Records
from eni.runtime.client.kube import KubeClient
from eni.runtime.meta import ObjectKey
from eni.sim.testbed import install_crds

ADDRESS = "10.0.1.7"


def records(apiserver) -> Records:
    client = KubeClient.from_api_client(apiserver.api_client(), qps=5000, burst=5000)
    install_crds(client)
    return Records(client)


def test_recording_on_a_new_eni_re_homes_a_record_the_old_eni_left_and_its_removal_keeps_it(apiserver):
    vips = records(apiserver)
    vips.record_ips([ADDRESS], eni_id="eni-old", subnet_id="subnet-a", node="node-1")
    vips.client.patch(VPC_IP, ObjectKey("", ADDRESS), {"spec": {"type": VpcIPType.POD.value, "claimRef": {
        "namespace": "default", "name": "gone", "uid": "u-1"}}})
    vips.set_ip_phase(ADDRESS, VpcIPPhase.RELEASING)

    vips.record_ips([ADDRESS], eni_id="eni-new", subnet_id="subnet-a", node="node-2")
    vips.forget_ips([ADDRESS], eni_id="eni-old")  # the old ENI's unassign, finishing late

    record = vips.get_ip(ADDRESS)
    assert record is not None
    assert (record.spec.eni_id, record.spec.node_name, record.metadata.labels["tke.cloud.tencent.com/node-name"]) \
        == ("eni-new", "node-2", "node-2")
    assert record.spec.type is VpcIPType.POOL and record.spec.claim_ref is None
    assert record.status.phase is VpcIPPhase.ASSIGNED
    assert [ip.name for ip in vips.ips_of("node-1")] == []


def test_recording_again_on_the_same_eni_keeps_the_record_as_it_is(apiserver):
    vips = records(apiserver)
    vips.record_ips([ADDRESS], eni_id="eni-1", subnet_id="subnet-a", node="node-1")
    claim = ObjectReference(namespace="default", name="db-0", uid="u-2")
    vips.client.patch(VPC_IP, ObjectKey("", ADDRESS), {"spec": {"type": VpcIPType.POD.value, "claimRef": {
        "namespace": claim.namespace, "name": claim.name, "uid": claim.uid}}})
    vips.record_ips([ADDRESS], eni_id="eni-1", subnet_id="subnet-a", node="node-1")  # a replay
    record = vips.get_ip(ADDRESS)
    assert record is not None and record.spec.claim_ref == claim and record.spec.type is VpcIPType.POD


def test_removal_after_an_unassign_deletes_the_record_of_that_eni(apiserver):
    vips = records(apiserver)
    vips.record_ips([ADDRESS, "10.0.1.8"], eni_id="eni-1", subnet_id="subnet-a", node="node-1")
    vips.forget_ips([ADDRESS, "10.0.1.8", "10.0.1.9"], eni_id="eni-1")  # one never recorded: nothing to do
    assert vips.all_ips() == []


def test_a_record_changed_since_it_was_read_is_not_forgotten(apiserver):
    vips = records(apiserver)
    vips.record_ips([ADDRESS], eni_id="eni-1", subnet_id="subnet-a", node="node-1")
    (read,) = vips.ips_of("node-1")
    vips.record_ips([ADDRESS], eni_id="eni-2", subnet_id="subnet-a", node="node-2")  # re-homed meanwhile
    vips.forget_records([read])
    record = vips.get_ip(ADDRESS)
    assert record is not None and record.spec.eni_id == "eni-2"
    vips.forget_records(vips.ips_of("node-2"))
    assert vips.get_ip(ADDRESS) is None
