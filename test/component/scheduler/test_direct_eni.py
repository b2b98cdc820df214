"""The real tke-eni-ip-scheduler judging direct-ENI pods (tke-direct-eni), fed through the official client.

Two zones: node-1 (ap-guangzhou-3) with a warm exclusive ENI, node-2 (same zone) at its exclusive-ENI limit
with one ENI held by a pod and one reserved for the static pod default/db-0, node-3 (ap-guangzhou-4) with
room for one. A VpcENI eni-kept is kept (detached) in node-1's subnet for the static pod default/cache-0.
kube-scheduler's calls are made over HTTP exactly as it makes them.
"""

from __future__ import annotations

from eni.scheduler.testing import DirectEniLayout, EniLayout, kept_eni, nec, node, pod

ZONE_3, ZONE_4 = "ap-guangzhou-3", "ap-guangzhou-4"
NAMES = ["node-1", "node-2", "node-3"]
GZ3, GZ4 = "10.0.1.0/24", "10.0.3.0/24"
GROUP, VERSION = "networking.tke.cloud.tencent.com", "v1"


def necs(*, node1_in_use: bool = False):
    return [
        nec("node-1", zone=ZONE_3, subnets=["subnet-gz3a"], enis=[EniLayout("eni-1", "subnet-gz3a", GZ3)],
            max_direct_eni=2, direct=[DirectEniLayout("eni-d1", "subnet-gz3a", GZ3, in_use=node1_in_use)]),
        nec("node-2", zone=ZONE_3, subnets=["subnet-gz3a"], max_direct_eni=2,
            direct=[DirectEniLayout("eni-d2", "subnet-gz3a", GZ3, in_use=True),
                    DirectEniLayout("eni-d2r", "subnet-gz3a", GZ3, pod=("default", "db-0"))]),
        nec("node-3", zone=ZONE_4, subnets=["subnet-gz4a"], enis=[EniLayout("eni-3", "subnet-gz4a", GZ4)],
            max_direct_eni=1),
    ]


def populate(kube):
    objects = [node("node-1", zone=ZONE_3), node("node-2", zone=ZONE_3), node("node-3", zone=ZONE_4), *necs(),
               kept_eni("eni-kept", subnet_id="subnet-gz3a", pod=("default", "cache-0"))]
    for obj in objects:
        kube.create(obj)


def test_direct_eni_pods_are_filtered_and_scored_by_exclusive_enis(kube, serve):
    populate(kube)
    program, url = serve()

    status, answer = program.request("POST", url + "/filter", {"Pod": pod("fast", direct=True), "Nodes": None,
                                                               "NodeNames": NAMES})
    assert status == 200 and answer["Error"] == "" and answer["NodeNames"] == ["node-1", "node-3"]
    assert answer["FailedNodes"] == {"node-2": "[ip-scheduler] ENILimitExceed: no free exclusive ENI and the node "
                                               "has 2 of 2 exclusive ENIs attached"}
    status, scores = program.request("POST", url + "/prioritize", {"Pod": pod("fast", direct=True),
                                                                   "NodeNames": NAMES})
    assert status == 200 and scores == [{"Host": "node-1", "Score": 10}, {"Host": "node-2", "Score": 0},
                                        {"Host": "node-3", "Score": 5}]

    # the static pod an ENI of node-2 is reserved for may use it there
    status, answer = program.request("POST", url + "/filter", {"Pod": pod("db-0", direct=True), "NodeNames": NAMES})
    assert answer["NodeNames"] == NAMES

    # nodeCacheCapable: false — the NodeList as the official client lists it; cache-0's kept ENI is in zone 3
    status, answer = program.request("POST", url + "/filter", {"Pod": pod("cache-0", direct=True),
                                                               "Nodes": kube.node_list(), "NodeNames": None})
    assert status == 200 and answer["NodeNames"] is None
    assert [item["metadata"]["name"] for item in answer["Nodes"]["items"]] == ["node-1"]
    assert answer["FailedAndUnresolvableNodes"] == {
        "node-3": "[ip-scheduler] SubnetMismatch: kept ENI eni-kept is in subnet subnet-gz3a (zone ap-guangzhou-3); "
                  "the node is in zone ap-guangzhou-4"}
    assert answer["FailedNodes"]["node-2"].startswith("[ip-scheduler] ENILimitExceed: kept ENI eni-kept cannot be "
                                                      "re-attached")
    assert program.stop() == 0


def test_the_agents_report_and_a_deleted_kept_eni_reach_the_answers(kube, serve, wait_until):
    populate(kube)
    program, url = serve()

    def passed(p):
        status, answer = program.request("POST", url + "/filter", {"Pod": p, "NodeNames": NAMES})
        assert status == 200
        return answer["NodeNames"]

    # the agent hands node-1's warm ENI to a pod (status.agent.inUseENIs): node-1 still has room for a second
    kube.patch_status(necs(node1_in_use=True)[0])
    wait_until(lambda: program.request("POST", url + "/prioritize", {"Pod": pod("fast", direct=True),
                                                                     "NodeNames": NAMES})[1][0]["Score"] == 5)
    # ipamd lowers node-1's limit to what it has (direct-eni-max-attach): only node-3 is left
    kube.custom.patch_cluster_custom_object(GROUP, VERSION, "nodeeniconfigs", "node-1",
                                            {"spec": {"maxDirectENI": 1}})
    wait_until(lambda: passed(pod("fast", direct=True)) == ["node-3"])
    assert passed(pod("cache-0", direct=True)) == []

    # kubectl delete veni eni-kept: cache-0 is an ordinary direct-ENI pod again
    kube.custom.delete_cluster_custom_object(GROUP, VERSION, "vpcenis", "eni-kept")
    wait_until(lambda: passed(pod("cache-0", direct=True)) == ["node-3"])
    # shared-ENI pods are judged on shared ENIs: node-2, full of exclusive ENIs, may still create a route ENI
    assert passed(pod("app-1")) == NAMES
    assert program.stop() == 0
