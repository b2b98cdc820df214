"""Each kind: full round trips, tolerant decoding of minimal objects, clear errors, status patches."""

from datetime import UTC, datetime, timedelta

import pytest

import eni.api.v1 as v1
from eni.api.v1 import (
    AgentStatus,
    ClaimPhase,
    Condition,
    ConditionStatus,
    DecodeError,
    DeletePolicy,
    EIPClaim,
    EIPClaimSpec,
    EIPClaimStatus,
    EniIP,
    EniType,
    IPState,
    Isp,
    NodeENI,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    VpcENI,
    VpcENIPhase,
    VpcENISpec,
    VpcENIStatus,
    VpcIP,
    VpcIPClaim,
    VpcIPClaimSpec,
    VpcIPClaimStatus,
    VpcIPPhase,
    VpcIPSpec,
    VpcIPStatus,
    VpcIPType,
    agent_status_patch,
    ipamd_status_patch,
)
from eni.api.v1.constants import FINALIZER_VPC_ENI, LABEL_NODE_NAME
from eni.runtime.meta import ObjectKey

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


def meta(name, namespace="", **extra):
    return ObjectMeta(name=name, namespace=namespace, uid=f"uid-{name}", resource_version="42", generation=3,
                      creation_timestamp=T0, **extra)


NEC = NodeENIConfig(
    metadata=meta("node-1", annotations={"tke.cloud.tencent.com/route-eni-max-attach": "2"}),
    spec=NodeENIConfigSpec(instance_id="ins-1", zone="ap-guangzhou-3", instance_type="S5.MEDIUM4",
                           subnet_ids=("subnet-a", "subnet-b"), security_group_ids=("sg-1",), max_eni=3,
                           max_ip_per_eni=9, max_direct_eni=2, eip_quota=4),
    status=NodeENIConfigStatus(
        enis=(NodeENI(eni_id="eni-1", mac="20:90:6f:00:00:01", primary_ip="10.0.1.2", subnet_id="subnet-a",
                      subnet_cidr="10.0.1.0/24", gateway="10.0.1.1", route_table_id="rtb-1", type=EniType.ROUTE,
                      device_index=1, ips=(EniIP(ip="10.0.1.5"), EniIP(ip="10.0.1.6", state=IPState.RELEASING))),
              NodeENI(eni_id="eni-2", type=EniType.DIRECT, ips=(EniIP(ip="10.0.1.9"),))),
        conditions=(Condition(type="ENILimitReached", status=ConditionStatus.FALSE, reason="UnderQuota",
                              message="ok", last_transition_time=T0, observed_generation=3),),
        agent=AgentStatus(in_use_ips=("10.0.1.5",), released_ips=("10.0.1.6",), heartbeat_time=T0,
                          observed_generation=3),
    ),
)
VENI = VpcENI(
    metadata=meta("eni-1", finalizers=(FINALIZER_VPC_ENI,)),
    spec=VpcENISpec(subnet_id="subnet-a", type=EniType.DIRECT, node_name="node-1", instance_id="ins-1",
                    security_group_ids=("sg-1", "sg-2"), owner_pod=ObjectReference(namespace="ns", name="web-0")),
    status=VpcENIStatus(phase=VpcENIPhase.ATTACHED, mac="20:90:6f:00:00:01", primary_ip="10.0.1.2",
                        attached_instance_id="ins-1", device_index=1, message=""),
)
VIP = VpcIP(
    metadata=meta("10.0.1.5", labels={LABEL_NODE_NAME: "node-1"}),
    spec=VpcIPSpec(subnet_id="subnet-a", type=VpcIPType.POD, eni_id="eni-1", node_name="node-1",
                   claim_ref=ObjectReference(namespace="ns", name="web-0", uid="u1")),
    status=VpcIPStatus(phase=VpcIPPhase.ASSIGNED, message="assigned"),
)
VIPC = VpcIPClaim(
    metadata=meta("web-0", "ns", owner_references=(
        OwnerReference(api_version="apps/v1", kind="StatefulSet", name="web", uid="u-sts", controller=True,
                       block_owner_deletion=True),)),
    spec=VpcIPClaimSpec(delete_policy=DeletePolicy.NEVER, expired_duration=timedelta(hours=1),
                        nominated_subnet_ids=("subnet-a",), nominated_ip="10.0.1.5", pod_uid="u1"),
    status=VpcIPClaimStatus(phase=ClaimPhase.RETAINED, ip="10.0.1.5", subnet_id="subnet-a", eni_id="eni-1",
                            node_name="node-1", released_time=T0, message="kept"),
)
EIPC = EIPClaim(
    metadata=meta("web-0", "ns"),
    spec=EIPClaimSpec(bandwidth=20, isp=Isp.CMCC, delete_policy=DeletePolicy.NEVER, eip_ids=("eip-1",),
                      expired_duration=timedelta(minutes=30), pod_uid="u1"),
    status=EIPClaimStatus(phase=ClaimPhase.BOUND, eip_id="eip-1", public_ip="1.2.3.4", private_ip="10.0.1.5",
                          eni_id="eni-1", released_time=T0, message="bound"),
)
OBJECTS = [NEC, VENI, VIP, VIPC, EIPC]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: type(o).__name__)
def test_round_trip(obj):
    wire = obj.to_dict()
    assert wire["apiVersion"] == "networking.tke.cloud.tencent.com/v1"
    assert wire["kind"] == type(obj).__name__
    assert wire["metadata"]["name"] == obj.metadata.name
    assert type(obj).from_dict(wire) == obj


def test_wire_names_are_kubernetes_style():
    wire = NEC.to_dict()
    assert set(wire["spec"]) == {"instanceId", "zone", "instanceType", "subnetIds", "securityGroupIds", "maxENI",
                                 "maxIPPerENI", "maxDirectENI", "eipQuota"}
    eni = wire["status"]["enis"][0]
    assert eni["primaryIP"] == "10.0.1.2" and eni["subnetCIDR"] == "10.0.1.0/24" and eni["routeTableId"] == "rtb-1"
    assert wire["status"]["agent"]["inUseIPs"] == ["10.0.1.5"]
    assert wire["metadata"]["creationTimestamp"] == "2026-03-01T08:00:00Z"
    assert VIPC.to_dict()["spec"]["expiredDuration"] == "1h0m0s"
    assert VIPC.to_dict()["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is True
    assert EIPC.to_dict()["status"]["publicIP"] == "1.2.3.4"


def test_nec_counts_are_derived_from_the_enis():
    assert (NEC.status.eni_count, NEC.status.ip_count) == (2, 2)
    assert NEC.status.ips_in_state(IPState.RELEASING) == ("10.0.1.6",)
    wire = NEC.to_dict()
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


def test_objects_are_immutable():
    with pytest.raises(AttributeError):
        VIP.spec.node_name = "other"  # type: ignore[misc]


def test_ipamd_patch_replaces_only_its_part_and_clears_lists():
    patch = ipamd_status_patch(enis=NEC.status.enis, conditions=())
    assert set(patch) == {"status"} and "agent" not in patch["status"]
    assert patch["status"]["conditions"] == [] and patch["status"]["eniCount"] == 2
    assert patch["status"]["enis"] == NEC.to_dict()["status"]["enis"]
    empty = ipamd_status_patch(enis=[], conditions=[])
    assert empty["status"] == {"enis": [], "conditions": [], "eniCount": 0, "ipCount": 0}


def test_agent_patch_replaces_only_the_agent_part_and_clears_stale_values():
    assert agent_status_patch(AgentStatus()) == {"status": {"agent": {
        "inUseIPs": [], "releasedIPs": [], "heartbeatTime": None, "observedGeneration": None}}}
    patch = agent_status_patch(NEC.status.agent)
    assert patch == {"status": {"agent": {"inUseIPs": ["10.0.1.5"], "releasedIPs": ["10.0.1.6"],
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
