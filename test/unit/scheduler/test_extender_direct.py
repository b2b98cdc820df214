"""The extender's answers for direct-ENI pods (tke-direct-eni) over the conftest scenario as the cluster changes."""

import json

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI
from eni.scheduler import decode_args
from eni.scheduler.testing import DirectEniLayout, EniLayout, kept_eni, nec, node, pod

NAMES = ["node-a1", "node-a2", "node-a3", "node-a4", "node-b1", "node-x"]
A1 = "10.0.1.0/24"


def names_args(p, names=NAMES):
    return decode_args(json.dumps({"Pod": p, "Nodes": None, "NodeNames": names}).encode())


def list_args(p, names=NAMES):
    items = [node(name, zone="whatever") for name in names]
    return decode_args(json.dumps({"Pod": p, "Nodes": {"metadata": {}, "items": items}, "NodeNames": None}).encode())


def scores(extender, p):
    return {item["Host"]: item["Score"] for item in extender.prioritize(names_args(p))}


def test_a_direct_pod_goes_where_an_exclusive_eni_is_free_or_can_be_attached(extender):
    result = extender.filter(names_args(pod("fast", direct=True)))
    assert result["NodeNames"] == ["node-a1", "node-b1"]
    assert result["FailedNodes"] == {
        "node-a2": "[ip-scheduler] ENILimitExceed: no free exclusive ENI and the node has 2 of 2 exclusive ENIs "
                   "attached",
        "node-a3": "[ip-scheduler] InsufficientIPorENI: no free exclusive ENI and subnet-a2 has no free IP for a "
                   "new one",
    }
    assert result["FailedAndUnresolvableNodes"] == {
        "node-a4": "[ip-scheduler] ENILimitExceed: the node may attach no exclusive ENI (maxDirectENI is 0)",
        "node-x": "[ip-scheduler] InsufficientIPorENI: the node has no NodeENIConfig",
    }
    # a warm ENI beats attaching a new one
    assert scores(extender, pod("fast", direct=True)) == {"node-a1": 10, "node-a2": 0, "node-a3": 0, "node-a4": 0,
                                                          "node-b1": 5, "node-x": 0}


def test_the_pod_an_eni_is_reserved_for_may_use_it_on_a_full_node(extender):
    result = extender.filter(names_args(pod("static-0", direct=True)))
    assert result["NodeNames"] == ["node-a1", "node-a2", "node-b1"]
    assert scores(extender, pod("static-0", direct=True))["node-a2"] == 10
    # the same name in another namespace is another pod
    assert "node-a2" in extender.filter(names_args(pod("static-0", namespace="other", direct=True)))["FailedNodes"]


def test_a_kept_eni_keeps_its_pod_in_its_zone(cluster, extender):
    result = extender.filter(names_args(pod("cache-0", direct=True)))
    # zone ap-guangzhou-3 only; subnet-a2 being exhausted does not matter: the kept ENI has its address
    assert result["NodeNames"] == ["node-a1", "node-a3"]
    assert result["FailedAndUnresolvableNodes"]["node-b1"] == (
        "[ip-scheduler] SubnetMismatch: kept ENI eni-kept is in subnet subnet-a1 (zone ap-guangzhou-3); the node "
        "is in zone ap-guangzhou-4")
    assert result["FailedNodes"]["node-a2"] == (
        "[ip-scheduler] ENILimitExceed: kept ENI eni-kept cannot be re-attached and the node has 2 of 2 exclusive "
        "ENIs attached")
    # kubectl delete veni eni-kept: the pod may go anywhere again
    cluster.change(VPC_ENI, kept_eni("eni-kept", subnet_id="subnet-a1", pod=("default", "cache-0")),
                   action="remove", until=lambda: cluster.index.kept_eni("default", "cache-0") is None)
    assert extender.filter(names_args(pod("cache-0", direct=True)))["NodeNames"] == ["node-a1", "node-b1"]


def test_nominated_subnets_and_only_nominated_subnets_apply_to_direct_pods(cluster, extender):
    from eni.api.v1 import VPC_IP_CLAIM
    from eni.scheduler import ClusterSubnets, Extender
    from eni.scheduler.testing import claim

    result = extender.filter(names_args(pod("db", direct=True, nominated_subnets=["subnet-b1"])))
    assert result["NodeNames"] == ["node-b1"]
    assert "SubnetMismatch: nominated subnets subnet-b1 (zone ap-guangzhou-4)" in (
        result["FailedAndUnresolvableNodes"]["node-a1"])
    # another pod nominates subnet-a1: with --only-nominated-eni-subnets ordinary direct pods keep off it
    cluster.change(VPC_IP_CLAIM, claim("default", "nominator", nominated_subnets=["subnet-a1"]), action="create",
                   until=lambda: cluster.index.reserved_subnets == {"subnet-a1"})
    strict = Extender(cluster.index, ClusterSubnets(cluster.index), only_nominated_subnets=True)
    answer = strict.filter(names_args(pod("fast", direct=True)))
    assert answer["NodeNames"] == ["node-b1"]
    assert answer["FailedAndUnresolvableNodes"]["node-a1"] == (
        "[ip-scheduler] InsufficientIPorENI: all of the node's subnets are reserved for pods that nominate them")
    # the nominating pod may: on node-a1's warm ENI, or a new ENI in subnet-a1 on node-a3 (same zone)
    nominating = pod("db", direct=True, nominated_subnets=["subnet-a1"])
    assert strict.filter(names_args(nominating))["NodeNames"] == ["node-a1", "node-a3"]
    assert {host: score for host, score in scores(strict, nominating).items() if score} == {"node-a1": 10,
                                                                                           "node-a3": 5}


def test_the_agent_taking_the_warm_eni_changes_the_verdict(cluster, extender):
    taken = nec("node-a1", zone="ap-guangzhou-3", subnets=["subnet-a1"], max_direct_eni=1,
                enis=[EniLayout("eni-a1", "subnet-a1", A1, ["10.0.1.10", "10.0.1.11"])],
                direct=[DirectEniLayout("eni-da1", "subnet-a1", A1, in_use=True)])
    cluster.change(NODE_ENI_CONFIG, taken, until=lambda: not cluster.index.nodes["node-a1"].free_direct_enis)
    result = extender.filter(names_args(pod("fast", direct=True)))
    assert result["NodeNames"] == ["node-b1"]
    assert result["FailedNodes"]["node-a1"].endswith("the node has 1 of 1 exclusive ENIs attached")
    # the route-ENI verdicts did not move
    assert extender.filter(names_args(pod("app-1")))["NodeNames"] == ["node-a1", "node-b1"]


def test_node_cache_capable_both_ways_give_the_same_direct_verdicts(extender):
    for p in (pod("fast", direct=True), pod("static-0", direct=True), pod("cache-0", direct=True)):
        by_names, by_list = extender.filter(names_args(p)), extender.filter(list_args(p))
        assert [item["metadata"]["name"] for item in by_list["Nodes"]["items"]] == by_names["NodeNames"]
        assert by_list["FailedNodes"] == by_names["FailedNodes"]
        assert by_list["FailedAndUnresolvableNodes"] == by_names["FailedAndUnresolvableNodes"]
        assert extender.prioritize(names_args(p)) == extender.prioritize(list_args(p))


def test_a_bad_annotation_on_a_direct_pod_fails_every_node(extender):
    bad = pod("odd", direct=True, annotations={"tke.cloud.tencent.com/nominated-eni-subnets": "subnet-b1,"})
    result = extender.filter(names_args(bad))
    assert result["NodeNames"] == [] and len(result["FailedAndUnresolvableNodes"]) == len(NAMES)
    assert all(m.startswith("[ip-scheduler] InvalidPodAnnotation: ") for m in
               result["FailedAndUnresolvableNodes"].values())


def test_a_direct_pods_own_nomination_keeps_pods_of_both_kinds_off_its_subnet(cluster):
    from eni.runtime.meta import POD
    from eni.scheduler import ClusterSubnets, Extender

    strict = Extender(cluster.index, ClusterSubnets(cluster.index), only_nominated_subnets=True)
    assert strict.filter(names_args(pod("app-1")))["NodeNames"] == ["node-a1", "node-b1"]
    # a direct-ENI pod has no claim: its own annotation is what reserves subnet-b1
    nominating = pod("db", direct=True, nominated_subnets=["subnet-b1"])
    cluster.change(POD, nominating, action="create", until=lambda: cluster.index.reserved_subnets == {"subnet-b1"})
    reserved = ("[ip-scheduler] InsufficientIPorENI: all of the node's subnets are reserved for pods that nominate "
                "them")
    for other in (pod("app-1"), pod("fast", direct=True)):
        answer = strict.filter(names_args(other))
        assert answer["NodeNames"] == ["node-a1"]
        assert answer["FailedAndUnresolvableNodes"]["node-b1"] == reserved
        assert scores(strict, other)["node-b1"] == 0
    assert strict.filter(names_args(nominating))["NodeNames"] == ["node-b1"]
    # without the flag nothing is reserved
    assert Extender(cluster.index, ClusterSubnets(cluster.index)).filter(names_args(pod("app-1")))["NodeNames"] == [
        "node-a1", "node-b1"]
