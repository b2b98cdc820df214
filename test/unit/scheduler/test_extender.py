"""The extender's behaviour over the conftest scenario as the cluster changes."""

import json

from eni.api.v1 import NODE_ENI_CONFIG, VPC_IP, VPC_IP_CLAIM
from eni.scheduler import decode_args
from eni.scheduler.testing import EniLayout, claim, nec, node, pod, vip

NAMES = ["node-a1", "node-a2", "node-a3", "node-a4", "node-b1", "node-x"]


def names_args(p, names=NAMES):
    return decode_args(json.dumps({"Pod": p, "Nodes": None, "NodeNames": names}).encode())


def list_args(p, names=NAMES):
    items = [node(name, zone="whatever") for name in names]
    return decode_args(json.dumps({"Pod": p, "Nodes": {"metadata": {}, "items": items}, "NodeNames": None}).encode())


def test_cross_zone_retained_ip_is_filtered_out(extender):
    result = extender.filter(names_args(pod("web-0")))
    assert "node-b1" not in result["NodeNames"]
    assert result["FailedAndUnresolvableNodes"]["node-b1"].startswith(
        "[ip-scheduler] SubnetMismatch: retained IP 10.0.1.50 is in subnet subnet-a1")
    # another pod of the same namespace is not bound to that subnet
    assert "node-b1" in extender.filter(names_args(pod("web-1")))["NodeNames"]


def test_an_exhausted_subnet_is_filtered_out_with_its_reason(cluster, extender):
    assert extender.filter(names_args(pod("app-1")))["NodeNames"] == ["node-a1", "node-b1"]
    # fill subnet-b1: 253 usable, 1 ENI + 3 IPs used; 249 more VpcIPs take the rest
    for i in range(249):
        cluster.sources[VPC_IP].create(vip(f"10.1.1.{i + 1 if i + 1 < 10 else i + 4}", subnet_id="subnet-b1"))
    cluster.change(VPC_IP, vip("10.1.1.9", subnet_id="subnet-b1"), action="modify",
                   until=lambda: extender.subnets.snapshot()["subnet-b1"].free_ips == 0)
    result = extender.filter(names_args(pod("app-1")))
    assert result["NodeNames"] == ["node-a1"]
    assert result["FailedNodes"]["node-b1"] == "[ip-scheduler] InsufficientIPorENI: subnet-b1 has no free IP"


def test_node_cache_capable_both_ways_give_the_same_verdicts(extender):
    for p in (pod("app-1"), pod("web-0"), pod("db-0", nominated_subnets=["subnet-b1"])):
        by_names, by_list = extender.filter(names_args(p)), extender.filter(list_args(p))
        assert by_list["NodeNames"] is None and by_names["Nodes"] is None
        assert [item["metadata"]["name"] for item in by_list["Nodes"]["items"]] == by_names["NodeNames"]
        assert by_list["FailedNodes"] == by_names["FailedNodes"]
        assert by_list["FailedAndUnresolvableNodes"] == by_names["FailedAndUnresolvableNodes"]
        assert extender.prioritize(names_args(p)) == extender.prioritize(list_args(p))


def test_pods_without_eni_ip_pass_untouched(extender):
    args = list_args(pod("plain", eni_ip=False))
    result = extender.filter(args)
    assert result["Nodes"] == args.nodes and result["FailedNodes"] == {}
    assert {item["Score"] for item in extender.prioritize(args)} == {0}


def test_releasing_the_retained_claim_frees_the_pod(cluster, extender):
    cluster.change(VPC_IP_CLAIM, claim("default", "web-0"), action="remove",
                   until=lambda: cluster.index.claim("default", "web-0") is None)
    assert extender.filter(names_args(pod("web-0")))["NodeNames"] == ["node-a1", "node-b1"]


def test_a_new_eni_in_the_nec_changes_the_verdict(cluster, extender):
    # node-a2 gets a bigger limit and a second, empty ENI in subnet-a1
    grown = nec("node-a2", zone="ap-guangzhou-3", subnets=["subnet-a1"], max_eni=2,
                enis=[EniLayout("eni-a2", "subnet-a1", "10.0.1.0/24", [f"10.0.1.{20 + i}" for i in range(9)]),
                      EniLayout("eni-a2b", "subnet-a1", "10.0.1.0/24")])
    cluster.change(NODE_ENI_CONFIG, grown, until=lambda: cluster.index.nodes["node-a2"].eni_count == 2)
    scores = {item["Host"]: item["Score"] for item in extender.prioritize(names_args(pod("app-1")))}
    assert scores["node-a2"] == 10


def test_a_bad_annotation_fails_every_node_with_its_reason(extender):
    bad = pod("odd", annotations={"tke.cloud.tencent.com/nominated-eni-subnets": "subnet-a1,subnet-a1"})
    result = extender.filter(names_args(bad))
    assert result["NodeNames"] == [] and len(result["FailedAndUnresolvableNodes"]) == len(NAMES)
    reasons = result["FailedAndUnresolvableNodes"].values()
    assert all("InvalidPodAnnotation" in m and "listed twice" in m for m in reasons)


def test_answers_stay_whole_while_the_index_changes_underneath(cluster, extender):
    import threading

    from eni.scheduler.testing import EniLayout as Layout

    stop, errors = threading.Event(), []

    def churn():
        i = 0
        while not stop.is_set():
            ip = f"10.1.1.{100 + i % 100}"
            cluster.index.upsert_vip(vip(ip, subnet_id="subnet-b1", eni_id="eni-b1", node_name="node-b1"))
            cluster.index.upsert_nec(nec("node-b1", zone="ap-guangzhou-4", subnets=["subnet-b1"], max_eni=1 + i % 2,
                                         enis=[Layout("eni-b1", "subnet-b1", "10.1.1.0/24")]))
            cluster.index.upsert_claim(claim("default", f"c-{i % 7}", nominated_subnets=["subnet-b1"]))
            cluster.index.remove_vip(vip(ip, subnet_id="subnet-b1"))
            i += 1

    def ask():
        try:
            for _ in range(30):
                result = extender.filter(names_args(pod("app-1")))
                judged = set(result["NodeNames"]) | set(result["FailedNodes"]) | set(
                    result["FailedAndUnresolvableNodes"])
                assert judged == set(NAMES) and "node-a1" in result["NodeNames"]
                assert len(extender.prioritize(names_args(pod("web-0")))) == len(NAMES)
        except Exception as e:  # reported by the assertion below
            errors.append(e)

    writer = threading.Thread(target=churn)
    readers = [threading.Thread(target=ask) for _ in range(3)]
    writer.start()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=60)
    stop.set()
    writer.join(timeout=10)
    assert errors == []


def test_a_nominated_ip_another_claim_holds_fails_everywhere(cluster, extender):
    held = vip("10.1.1.77", subnet_id="subnet-b1", pod=("default", "other"))
    cluster.change(VPC_IP, held, action="create", until=lambda: cluster.index.vip("10.1.1.77") is not None)
    result = extender.filter(names_args(pod("mine", nominated_ip="10.1.1.77")))
    assert result["NodeNames"] == []
    assert set(result["FailedAndUnresolvableNodes"].values()) == {
        "[ip-scheduler] InvalidPodAnnotation: nominated-vpc-ip 10.1.1.77 is already held by default/other"}
    free = extender.filter(names_args(pod("mine", nominated_ip="10.1.1.78")))
    assert free["NodeNames"] == ["node-b1"]  # the subnet found by CIDR; only its zone's node with room


def test_a_retained_ip_still_on_a_full_nodes_eni_lets_its_pod_back_onto_that_node(cluster, extender):
    # 10.0.1.20 sits on node-a2's full ENI (max 1 ENI): kept there for default/db-1, whose pod is gone
    kept = vip("10.0.1.20", subnet_id="subnet-a1", eni_id="eni-a2", node_name="node-a2", pod=("default", "db-1"))
    cluster.change(VPC_IP, kept, until=lambda: cluster.index.vip("10.0.1.20").claim == "default/db-1")
    cluster.change(VPC_IP_CLAIM, claim("default", "db-1", ip="10.0.1.20", subnet_id="subnet-a1"), action="create",
                   until=lambda: cluster.index.claim("default", "db-1") is not None)
    # like a direct pod's reserved ENI: nothing to assign there, so no free slot is needed, and it scores best
    result = extender.filter(names_args(pod("db-1")))
    assert result["NodeNames"] == ["node-a1", "node-a2", "node-a3", "node-a4"]
    scores = {item["Host"]: item["Score"] for item in extender.prioritize(names_args(pod("db-1")))}
    assert scores == {"node-a1": 10, "node-a2": 10, "node-a3": 5, "node-a4": 5, "node-b1": 0, "node-x": 0}
    # another pod is not served by db-1's address
    assert "node-a2" in extender.filter(names_args(pod("db-2")))["FailedNodes"]
    # a retained IP on no ENI (web-0's) gives no node that privilege
    assert "node-a2" in extender.filter(names_args(pod("web-0")))["FailedNodes"]
