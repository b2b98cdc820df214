"""Subnet exhaustion moves new ENIs to the zone's next subnet; an ENI quota yields ENILimit; NEC
annotations take effect or are refused (issue 4's second and third scenarios)."""

from __future__ import annotations

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, IPState
from eni.api.v1.constants import (
    ANNOTATION_MAX_IP_PER_ROUTE_ENI,
    ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET,
    ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET,
    ANNOTATION_ROUTE_ENI_MAX_ATTACH,
)
from eni.cloud.emulator import World
from eni.cloud.emulator.world import InstanceSpec, Quotas, SubnetSpec
from eni.runtime.meta import ObjectKey

GZ3, GZ4 = "ap-guangzhou-3", "ap-guangzhou-4"
SMALL_A, BIG_B = "subnet-gz3a0001", "subnet-gz3b0002"


def bound(cluster, name):
    return len(cluster.nec(name).status.ips_in_state(IPState.BOUND))


def annotate(cluster, name, annotations):
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name=name),
                         {"metadata": {"annotations": annotations}})


@pytest.fixture
def emulator_world(request):
    base = World.default()
    if "exhausted_subnet" not in request.node.name and "quota" not in request.node.name:
        return base
    subnets = (SubnetSpec(SMALL_A, GZ3, "10.0.1.0/28", "gz3-a"), SubnetSpec(BIG_B, GZ3, "10.0.2.0/24", "gz3-b"),
               *base.subnets[2:])
    instances = tuple(InstanceSpec(i.instance_id, i.instance_type, i.zone, BIG_B if i.zone == GZ3 else i.subnet_id,
                                   i.security_group_ids, i.name) for i in base.instances)
    quotas = Quotas(vpc_enis=4) if "quota" in request.node.name else Quotas()
    return World(region=base.region, zones=base.zones, vpc_id=base.vpc_id, vpc_cidr=base.vpc_cidr, subnets=subnets,
                 security_groups=base.security_groups, instances=instances, quotas=quotas)


def test_an_exhausted_subnet_sends_the_next_eni_to_the_zones_other_subnet(make_cluster):
    # Only the small subnet first: both gz3 nodes put their first ENI there (2 primaries + 10 IPs of 13).
    cluster = make_cluster(subnet_ids=(SMALL_A,))
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.converge()
    assert {e.subnet_id for n in ("node-1", "node-2") for e in cluster.nec(n).status.enis} == {SMALL_A}

    cluster.restart(subnet_ids=(SMALL_A, BIG_B))
    cluster.agents["node-1"].want_pods = 9  # wants 14 bound: 4 more fit on its ENI, but the subnet has 1 free
    cluster.converge()
    nec = cluster.nec("node-1")
    assert bound(cluster, "node-1") == 14
    assert [e.subnet_id for e in nec.status.enis] == [SMALL_A, BIG_B]
    assert cluster.events("SubnetExhausted")
    cluster.assert_consistent("node-1")


def test_eni_quota_yields_eni_limit_and_no_retry_storm(make_cluster):
    cluster = make_cluster()  # the VPC holds 4 ENIs: 3 primaries + 1
    cluster.add_node("node-2")
    cluster.agents["node-2"].want_pods = 30
    cluster.converge()
    assert bound(cluster, "node-2") == 19  # one secondary ENI full; the second was refused by the quota
    events = cluster.events("ENILimit")
    assert events and events[0]["type"] == "Warning"
    assert any(c.type == "ENILimitReached" for c in cluster.nec("node-2").status.conditions)
    creates = cluster.emulator.calls.count("CreateNetworkInterface")
    cluster.converge()
    assert cluster.emulator.calls.count("CreateNetworkInterface") == creates  # terminal until limits change
    annotate(cluster, "node-2", {ANNOTATION_ROUTE_ENI_MAX_ATTACH: "1"})
    cluster.converge()
    assert cluster.nec("node-2").spec.max_eni == 1
    conditions = cluster.nec("node-2").status.conditions  # the pods still want more than the lowered cap
    assert [c.message for c in conditions] == ["19 pods + 5 warm IPs exceed the node's cap of 19 IPs"]
    cluster.assert_consistent("node-2")


def test_nec_annotations_take_effect_or_are_refused(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-2")
    cluster.converge()
    annotate(cluster, "node-2", {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: "10",
                                 ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET: "12"})
    cluster.converge()
    assert bound(cluster, "node-2") == 10

    annotate(cluster, "node-2", {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: "20",
                                 ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET: "3"})  # min > max: refused
    cluster.converge(tick=True)
    assert bound(cluster, "node-2") == 10  # the old 10..12 window stays in force
    refused = cluster.events("InvalidAnnotation")
    assert refused and "must not exceed" in refused[-1]["message"]
    assert refused[-1]["involvedObject"]["kind"] == "NodeENIConfig"

    annotate(cluster, "node-2", {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: None})  # max alone: refused
    cluster.converge()
    assert bound(cluster, "node-2") == 10

    cluster.agents["node-2"].want_pods = 4
    cluster.converge()
    annotate(cluster, "node-2", {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: "10", ANNOTATION_MAX_IP_PER_ROUTE_ENI: "2"})
    cluster.converge()  # 2 per ENI is below the 4 IPs pods use on the ENI: refused, cap unchanged
    assert cluster.nec("node-2").spec.max_ip_per_eni == 19
    assert any("below what is in use" in e["message"] for e in cluster.events("InvalidAnnotation"))

    annotate(cluster, "node-2", {ANNOTATION_MAX_IP_PER_ROUTE_ENI: "6", ANNOTATION_ROUTE_ENI_MAX_ATTACH: "1"})
    cluster.converge()  # cap 1 x 6 = 6 < 14 bound: idle IPs go at once, without waiting for a tick
    assert bound(cluster, "node-2") == 6
    assert len(cluster.agents["node-2"].holding) == 4
    assert cluster.violations == []
    cluster.assert_consistent("node-2")
