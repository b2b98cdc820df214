"""Which pods the extender judges, and which subnets may serve them."""

import pytest

from eni.scheduler import PodNeeds, SubnetInfo
from eni.scheduler.facts import ClaimFacts
from eni.scheduler.podneeds import pod_needs, requests_eni_ip
from eni.scheduler.testing import pod

SUBNETS = {"subnet-a": SubnetInfo("subnet-a", zone="z1", cidr="10.0.1.0/24"),
           "subnet-b": SubnetInfo("subnet-b", zone="z2", cidr="10.0.2.0/24")}


def held(ip="10.0.1.7", subnet="subnet-a", *, nominated=(), deleting=False):
    return ClaimFacts(namespace="default", name="p", ip=ip, subnet_id=subnet, nominated_subnets=tuple(nominated),
                      deleting=deleting)


def needs(p, claim=None, vips=None):
    return pod_needs(p, claim=claim, subnet_of_ip=lambda ip: (vips or {}).get(ip, ""), subnets=SUBNETS)


def test_only_pods_requesting_eni_ip_are_managed():
    assert requests_eni_ip(pod("p"))
    assert not requests_eni_ip(pod("p", eni_ip=False))
    limits_only = pod("p", eni_ip=False)
    limits_only["spec"]["initContainers"] = [{"name": "i", "resources": {"limits": {"tke.cloud.tencent.com/eni-ip":
                                                                                    "1"}}}]
    assert requests_eni_ip(limits_only)
    assert not requests_eni_ip({"spec": {"containers": "junk"}}) and not requests_eni_ip({})


def test_a_held_claim_pins_the_pod_to_its_ips_subnet():
    assert needs(pod("p"), held()) == PodNeeds(subnets=frozenset({"subnet-a"}), retained_ip="10.0.1.7")
    # the subnet may come from the VpcIP when the claim's status lacks it
    assert needs(pod("p"), held(subnet=""), {"10.0.1.7": "subnet-b"}).subnets == {"subnet-b"}


def test_a_claim_being_deleted_or_without_ip_does_not_pin():
    assert needs(pod("p"), held(deleting=True)) == PodNeeds()
    assert needs(pod("p"), held(ip="", nominated=["subnet-b"])).subnets == {"subnet-b"}


def test_nominated_subnets_and_ip():
    assert needs(pod("p", nominated_subnets=["subnet-a", "subnet-b"])).subnets == {"subnet-a", "subnet-b"}
    assert needs(pod("p", nominated_ip="10.0.2.9")).subnets == {"subnet-b"}
    assert needs(pod("p", nominated_ip="192.168.0.1")) == PodNeeds()  # no known subnet holds it
    mismatch = needs(pod("p", nominated_ip="10.0.2.9", nominated_subnets=["subnet-a"]))
    assert "nominated-vpc-ip 10.0.2.9 is in subnet-b" in mismatch.invalid


@pytest.mark.parametrize("annotations", [
    {"tke.cloud.tencent.com/nominated-eni-subnets": "subnet-a,,"},
    {"tke.cloud.tencent.com/nominated-eni-subnets": "vpc-1"},
    {"tke.cloud.tencent.com/nominated-vpc-ip": "10.0.0.300"},
])
def test_bad_annotations_make_invalid_needs(annotations):
    result = needs(pod("p", annotations=annotations))
    assert result.invalid.startswith("tke.cloud.tencent.com/nominated-")


def test_a_nominated_ip_held_by_another_claim_or_a_node_serves_no_node():
    holders = {"10.0.2.9": "default/other", "10.0.2.10": "", "10.0.2.11": "default/p"}

    def with_holders(p):
        return pod_needs(p, claim=None, subnet_of_ip=lambda ip: "subnet-b" if ip in holders else "",
                         subnets=SUBNETS, holder_of_ip=holders.get)

    assert with_holders(pod("p", nominated_ip="10.0.2.9")).invalid == (
        "nominated-vpc-ip 10.0.2.9 is already held by default/other")
    assert "held by a node" in with_holders(pod("p", nominated_ip="10.0.2.10")).invalid
    assert with_holders(pod("p", nominated_ip="10.0.2.11")) == PodNeeds(subnets=frozenset({"subnet-b"}))


def test_direct_eni_pods_are_told_apart_by_resource_or_annotation():
    from eni.scheduler.podneeds import DIRECT, ROUTE, managed_network

    assert managed_network(pod("p")) == ROUTE
    assert managed_network(pod("p", direct=True)) == DIRECT
    assert managed_network(pod("p", eni_ip=False)) is None
    by_annotation = pod("p", eni_ip=False, annotations={"tke.cloud.tencent.com/networks": " tke-direct-eni "})
    assert managed_network(by_annotation) == DIRECT
    by_init_limit = pod("p", eni_ip=False)
    by_init_limit["spec"]["initContainers"] = [{"resources": {"limits": {"tke.cloud.tencent.com/direct-eni": "1"}}}]
    assert managed_network(by_init_limit) == DIRECT
    # the direct-ENI network wins over an eni-ip request: the pod gets a whole ENI
    both = pod("p", annotations={"tke.cloud.tencent.com/networks": "tke-direct-eni"})
    assert managed_network(both) == DIRECT
    assert managed_network({"metadata": {"annotations": {"tke.cloud.tencent.com/networks": 3}}}) is None


def test_direct_pod_needs_kept_eni_first_then_nominated_subnets():
    from eni.scheduler.facts import KeptEniFacts
    from eni.scheduler.podneeds import direct_pod_needs

    kept = KeptEniFacts(eni_id="eni-k", subnet_id="subnet-b", owner=("default", "p"), node="")
    nominating = pod("p", direct=True, nominated_subnets=["subnet-a"])
    assert direct_pod_needs(nominating, kept=kept, holding_nodes=frozenset({"n1"})) == PodNeeds(
        direct=True, subnets=frozenset({"subnet-b"}), kept_eni="eni-k", holding_nodes=frozenset({"n1"}))
    assert direct_pod_needs(nominating, kept=None, holding_nodes=frozenset()) == PodNeeds(
        direct=True, subnets=frozenset({"subnet-a"}))
    assert direct_pod_needs(pod("p", direct=True), kept=None, holding_nodes=frozenset()) == PodNeeds(direct=True)
    bad = direct_pod_needs(pod("p", direct=True, annotations={"tke.cloud.tencent.com/nominated-eni-subnets": "x"}),
                           kept=kept, holding_nodes=frozenset())
    assert bad.direct and "is not a subnet id" in bad.invalid
    # nominated-vpc-ip names a shared-ENI address: it does not bind a direct-ENI pod
    assert direct_pod_needs(pod("p", direct=True, nominated_ip="10.0.2.9"), kept=None,
                            holding_nodes=frozenset()) == PodNeeds(direct=True)


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("tke.cloud.tencent.com/vpc-ip-claim-delete-policy", "Sometimes", "vpc-ip-claim-delete-policy"),
    ("tke.cloud.tencent.com/claim-expired-duration", "1m", "claim-expired-duration"),
    ("tke.cloud.tencent.com/nominated-vpc-ip", "10.0.2.999", "nominated-vpc-ip"),
])
def test_an_annotation_that_makes_ipamd_refuse_a_pod_of_either_kind_fits_it_nowhere(key, value, problem):
    from eni.scheduler.podneeds import direct_pod_needs

    for manifest, read in (
            (pod("p", annotations={key: value}), lambda p: needs(p)),
            (pod("p", direct=True, annotations={key: value}),
             lambda p: direct_pod_needs(p, kept=None, holding_nodes=frozenset()))):
        verdict = read(manifest)
        assert problem in verdict.invalid and verdict.subnets is None, manifest["metadata"]["annotations"]
    # valid values of the same annotations change nothing for either kind
    assert needs(pod("p", annotations={"tke.cloud.tencent.com/claim-expired-duration": "1h"})) == PodNeeds()
    assert direct_pod_needs(pod("p", direct=True, annotations={"tke.cloud.tencent.com/claim-expired-duration": "1h"}),
                            kept=None, holding_nodes=frozenset()) == PodNeeds(direct=True)


def test_a_retained_ip_names_the_node_that_holds_it_for_the_pod():
    on_node = pod_needs(pod("p"), claim=held(), subnet_of_ip=lambda ip: "", subnets=SUBNETS,
                        nodes_holding_ip=lambda ip: frozenset({"n7"}) if ip == "10.0.1.7" else frozenset())
    assert on_node == PodNeeds(subnets=frozenset({"subnet-a"}), retained_ip="10.0.1.7", holding_nodes=frozenset({"n7"}))
    # without a held claim no node holds anything for the pod
    assert pod_needs(pod("p"), claim=None, subnet_of_ip=lambda ip: "", subnets=SUBNETS,
                     nodes_holding_ip=lambda ip: frozenset({"n7"})).holding_nodes == frozenset()
