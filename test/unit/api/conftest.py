"""Sample objects of every kind, with every field set, shared by the api tests."""

from datetime import UTC, datetime, timedelta

import pytest

from eni.api.v1 import (
    AgentStatus,
    ClaimPhase,
    Condition,
    ConditionStatus,
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
)
from eni.api.v1.constants import FINALIZER_VPC_ENI, LABEL_NODE_NAME

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


SAMPLES = {"NodeENIConfig": NEC, "VpcENI": VENI, "VpcIP": VIP, "VpcIPClaim": VIPC, "EIPClaim": EIPC}


@pytest.fixture
def samples():
    """Kind name -> an object of that kind with every field set."""
    return dict(SAMPLES)


@pytest.fixture(params=list(SAMPLES), ids=str)
def sample(request):
    """Each kind's full sample object in turn."""
    return SAMPLES[request.param]
