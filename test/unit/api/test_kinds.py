"""Each kind: full round trips, tolerant decoding of minimal objects, clear errors, status patches."""

import dataclasses

import pytest

import eni.api.v1 as v1
from eni.api.v1 import (
    AgentStatus,
    ClaimPhase,
    DecodeError,
    DeletePolicy,
    EIPClaim,
    IPState,
    Isp,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    ObjectMeta,
    VpcENI,
    VpcIP,
    VpcIPClaim,
    VpcIPClaimStatus,
    VpcIPSpec,
    agent_status_patch,
    ipamd_status_patch,
)
from eni.runtime.meta import ObjectKey


def test_round_trip(sample):
    wire = sample.to_dict()
    assert wire["apiVersion"] == "networking.tke.cloud.tencent.com/v1"
    assert wire["kind"] == type(sample).__name__
    assert wire["metadata"]["name"] == sample.metadata.name
    assert type(sample).from_dict(wire) == sample


def test_wire_names_are_kubernetes_style(samples):
    nec, vipc, eipc = samples["NodeENIConfig"], samples["VpcIPClaim"], samples["EIPClaim"]
    wire = nec.to_dict()
    assert set(wire["spec"]) == {"instanceId", "zone", "instanceType", "subnetIds", "securityGroupIds", "maxENI",
                                 "maxIPPerENI", "maxDirectENI", "eipQuota"}
    eni = wire["status"]["enis"][0]
    assert eni["primaryIP"] == "10.0.1.2" and eni["subnetCIDR"] == "10.0.1.0/24" and eni["routeTableId"] == "rtb-1"
    assert wire["status"]["agent"]["inUseIPs"] == ["10.0.1.5"]
    assert wire["metadata"]["creationTimestamp"] == "2026-03-01T08:00:00Z"
    assert vipc.to_dict()["spec"]["expiredDuration"] == "1h0m0s"
    assert vipc.to_dict()["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is True
    assert eipc.to_dict()["status"]["publicIP"] == "1.2.3.4"


def test_nec_counts_are_derived_from_the_enis(samples):
    nec = samples["NodeENIConfig"]
    assert (nec.status.eni_count, nec.status.ip_count) == (2, 2)
    assert nec.status.ips_in_state(IPState.RELEASING) == ("10.0.1.6",)
    wire = nec.to_dict()
    assert (wire["status"]["eniCount"], wire["status"]["ipCount"]) == (2, 2)
    wire["status"]["eniCount"] = 99  # a writer cannot make the counters lie
    assert NodeENIConfig.from_dict(wire).status.eni_count == 2


def test_minimal_objects_decode_with_defaults():
    vipc = VpcIPClaim.from_dict({"metadata": {"name": "p", "namespace": "ns"}})
    assert vipc.spec.delete_policy is DeletePolicy.IMMEDIATE and vipc.status.phase is None
    assert vipc.key == ObjectKey(namespace="ns", name="p")
    eipc = EIPClaim.from_dict({"metadata": {"name": "p", "namespace": "ns"}, "spec": {}})
    assert (eipc.spec.bandwidth, eipc.spec.isp) == (100, Isp.BGP)
    vip = VpcIP.from_dict({"metadata": {"name": "10.0.0.7"}, "spec": {"subnetId": "subnet-a"}})
    assert vip.ip == "10.0.0.7" and vip.key == ObjectKey(namespace="", name="10.0.0.7")
    nec = NodeENIConfig.from_dict({"metadata": {"name": "n"}, "spec": {"instanceId": "ins-1"}})
    assert nec.status == NodeENIConfigStatus() and nec.status.agent == AgentStatus()


def test_to_dict_of_a_new_object_has_no_status():
    fresh = VpcIP(metadata=ObjectMeta(name="10.0.0.7"), spec=VpcIPSpec(subnet_id="subnet-a"))
    assert fresh.to_dict() == {"apiVersion": "networking.tke.cloud.tencent.com/v1", "kind": "VpcIP",
                               "metadata": {"name": "10.0.0.7"}, "spec": {"subnetId": "subnet-a", "type": "Pool"}}


@pytest.mark.parametrize(
    ("kind", "wire", "message"),
    [
        (VpcIP, {"kind": "VpcENI", "metadata": {"name": "x"}, "spec": {"subnetId": "s"}},
         "VpcIP kind: expected 'VpcIP', got 'VpcENI'"),
        (VpcIP, {"apiVersion": "v1", "metadata": {"name": "x"}, "spec": {"subnetId": "s"}}, "VpcIP apiVersion"),
        (VpcIP, {"metadata": {"name": "x"}}, "VpcIP spec: required field is missing"),
        (VpcIP, {"metadata": {"name": "x"}, "spec": {}}, "VpcIP spec.subnetId: required field is missing"),
        (VpcIP, {"metadata": {"name": "x"}, "spec": {"subnetId": "s", "type": "pool"}},
         "VpcIP spec.type: 'pool' is not one of Pool, Pod"),
        (VpcIP, {"metadata": {"name": 7}, "spec": {"subnetId": "s"}}, "VpcIP metadata.name: expected a string"),
        (NodeENIConfig, {"metadata": {}, "spec": {"instanceId": "i", "maxENI": "3"}},
         "NodeENIConfig spec.maxENI: expected an integer, got a string"),
        (NodeENIConfig, {"metadata": {}, "spec": {"instanceId": "i"},
                         "status": {"enis": [{"eniId": "e", "ips": [{"ip": "1.1.1.1", "state": "Free"}]}]}},
         "NodeENIConfig status.enis[0].ips[0].state: 'Free' is not one of Bound, Releasing"),
        (VpcIPClaim, {"metadata": {}, "spec": {"expiredDuration": 3600}},
         "VpcIPClaim spec.expiredDuration: expected a string, got an integer"),
        (EIPClaim, {"metadata": {}, "status": {"releasedTime": "later"}}, "EIPClaim status.releasedTime"),
        (VpcENI, [], "VpcENI: expected an object"),
    ],
)
def test_from_dict_errors_name_kind_and_field(kind, wire, message):
    with pytest.raises(DecodeError) as caught:
        kind.from_dict(wire)
    assert message in str(caught.value)


def test_objects_are_immutable(samples):
    vip = samples["VpcIP"]
    with pytest.raises(AttributeError):
        vip.spec.node_name = "other"  # type: ignore[misc]


def test_ipamd_patch_replaces_only_its_part_and_clears_lists(samples):
    nec = samples["NodeENIConfig"]
    patch = ipamd_status_patch(enis=nec.status.enis, conditions=())
    assert set(patch) == {"status"} and "agent" not in patch["status"]
    assert patch["status"]["conditions"] == [] and patch["status"]["eniCount"] == 2
    assert patch["status"]["enis"] == nec.to_dict()["status"]["enis"]
    empty = ipamd_status_patch(enis=[], conditions=[])
    assert empty["status"] == {"enis": [], "conditions": [], "eniCount": 0, "ipCount": 0}


def test_agent_patch_replaces_only_the_agent_part_and_clears_stale_values(samples):
    nec = samples["NodeENIConfig"]
    assert agent_status_patch(AgentStatus()) == {"status": {"agent": {
        "inUseIPs": [], "releasedIPs": [], "inUseENIs": [], "releasedENIs": [],
        "heartbeatTime": None, "observedGeneration": None}}}
    patch = agent_status_patch(nec.status.agent)
    assert patch == {"status": {"agent": {"inUseIPs": ["10.0.1.5"], "releasedIPs": ["10.0.1.6"],
                                          "inUseENIs": [], "releasedENIs": [],
                                          "heartbeatTime": "2026-03-01T08:00:00Z", "observedGeneration": 3}}}


def test_resource_kinds():
    assert [k.RESOURCE.short_names for k in v1.ALL_KINDS] == [("nec",), ("veni",), ("vip",), ("vipc",), ("eipc",)]
    assert [k.RESOURCE.namespaced for k in v1.ALL_KINDS] == [False, False, False, True, True]
    assert v1.VPC_IP.object_path("10.0.0.1") == "/apis/networking.tke.cloud.tencent.com/v1/vpcips/10.0.0.1"
    assert v1.VPC_IP_CLAIM.collection_path("ns") == (
        "/apis/networking.tke.cloud.tencent.com/v1/namespaces/ns/vpcipclaims")


def test_package_exports_exactly_its_public_names():
    public = {name for name in dir(v1) if not name.startswith("_")}
    modules = {"codec", "constants", "eipclaim", "enums", "errors", "nodeeniconfig", "objectmeta", "resource",
               "vpceni", "vpcip", "vpcipclaim", "annotations", "schema", "crdgen"}
    assert set(v1.__all__) == public - modules


def test_status_patch_writes_or_clears_every_field(samples):
    vipc = samples["VpcIPClaim"]
    assert vipc.status_patch() == {"status": vipc.to_dict()["status"]}
    cleared = dataclasses.replace(vipc, status=VpcIPClaimStatus(phase=ClaimPhase.PENDING))
    assert cleared.status_patch() == {"status": {
        "phase": "Pending", "ip": None, "subnetId": None, "eniId": None, "nodeName": None, "releasedTime": None,
        "message": None}}


def test_nec_status_patch_is_ipamds_part():
    nec = NodeENIConfig(metadata=ObjectMeta(name="n"), spec=NodeENIConfigSpec(instance_id="ins-1"),
                        status=NodeENIConfigStatus(agent=AgentStatus(in_use_ips=("10.0.0.1",))))
    assert nec.status_patch() == ipamd_status_patch(enis=(), conditions=())
