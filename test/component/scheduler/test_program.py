"""The real tke-eni-ip-scheduler against the fake API server, fed through the official kubernetes client.

One cluster across two zones: node-1 (ap-guangzhou-3) with room on its ENI, node-2 (same zone) whose only
ENI is full at its limit, node-3 (ap-guangzhou-4) with room, and a retained claim default/web-0 on an IP of
node-1's subnet. kube-scheduler's calls are made exactly as it makes them (NodeNames or a full NodeList).
"""

from __future__ import annotations

import copy

from eni.scheduler.testing import EniLayout, claim, nec, node, pod, vip

ZONE_3, ZONE_4 = "ap-guangzhou-3", "ap-guangzhou-4"
NAMES = ["node-1", "node-2", "node-3"]


def populate(kube):
    node2_ips = [f"10.0.1.{30 + i}" for i in range(9)]
    objects = [
        node("node-1", zone=ZONE_3), node("node-2", zone=ZONE_3), node("node-3", zone=ZONE_4),
        nec("node-1", zone=ZONE_3, subnets=["subnet-gz3a"], enis=[
            EniLayout("eni-1", "subnet-gz3a", "10.0.1.0/24", ["10.0.1.20"])]),
        nec("node-2", zone=ZONE_3, subnets=["subnet-gz3a"], max_eni=1, enis=[
            EniLayout("eni-2", "subnet-gz3a", "10.0.1.0/24", node2_ips)]),
        nec("node-3", zone=ZONE_4, subnets=["subnet-gz4a"], enis=[EniLayout("eni-3", "subnet-gz4a", "10.0.3.0/24")]),
        vip("10.0.1.20", subnet_id="subnet-gz3a", eni_id="eni-1", node_name="node-1"),
        *[vip(ip, subnet_id="subnet-gz3a", eni_id="eni-2", node_name="node-2") for ip in node2_ips],
        vip("10.0.1.50", subnet_id="subnet-gz3a"),
        claim("default", "web-0", ip="10.0.1.50", subnet_id="subnet-gz3a"),
    ]
    for obj in objects:
        kube.create(obj)


def ready(program):
    health = program.url_of("Serving health and metrics")
    url = program.url_of("Serving the scheduler extender")
    return url, lambda: program.request("GET", health + "/readyz")[0] == 200


def test_the_program_filters_and_prioritizes_from_the_cluster(kube, run_program, wait_until):
    populate(kube)
    program = run_program()
    url, is_ready = ready(program)
    wait_until(is_ready, message="the program never became ready")

    # a retained IP keeps web-0 in its subnet's zone; node-2 is full at its ENI limit
    status, answer = program.request("POST", url + "/filter", {"Pod": pod("web-0"), "Nodes": None,
                                                               "NodeNames": NAMES})
    assert status == 200 and answer["Error"] == "" and answer["NodeNames"] == ["node-1"]
    assert answer["FailedNodes"]["node-2"].startswith("[ip-scheduler] ENILimitExceed:")
    assert answer["FailedAndUnresolvableNodes"]["node-3"].startswith(
        "[ip-scheduler] SubnetMismatch: retained IP 10.0.1.50 is in subnet subnet-gz3a (zone ap-guangzhou-3)")

    # nodeCacheCapable: false — the full NodeList as the official client lists it
    status, answer = program.request("POST", url + "/filter", {"Pod": pod("app-1"), "Nodes": kube.node_list(),
                                                               "NodeNames": None})
    assert status == 200 and answer["NodeNames"] is None
    assert [item["metadata"]["name"] for item in answer["Nodes"]["items"]] == ["node-1", "node-3"]
    assert answer["Nodes"]["items"][0]["metadata"]["labels"]["topology.kubernetes.io/zone"] == ZONE_3

    status, scores = program.request("POST", url + "/prioritize", {"Pod": pod("app-1"), "NodeNames": NAMES})
    assert status == 200 and scores == [{"Host": "node-1", "Score": 10}, {"Host": "node-2", "Score": 0},
                                        {"Host": "node-3", "Score": 10}]

    status, answer = program.request("POST", url + "/filter", b"{not json")
    assert status == 400 and answer["Error"].startswith("the body is not JSON")
    assert program.request("GET", url + "/healthz") == (200, "ok")
    assert program.stop() == 0


def test_changes_in_the_cluster_reach_the_answers(kube, run_program, wait_until):
    populate(kube)
    program = run_program()
    url, is_ready = ready(program)
    wait_until(is_ready)

    def filtered(p):
        return program.request("POST", url + "/filter", {"Pod": p, "NodeNames": NAMES})[1]

    # node-1's ENI fills up (ipamd writes the NEC status) and its limit is reached
    full = nec("node-1", zone=ZONE_3, subnets=["subnet-gz3a"], max_eni=1, enis=[
        EniLayout("eni-1", "subnet-gz3a", "10.0.1.0/24", [f"10.0.1.{60 + i}" for i in range(9)])])
    kube.custom.patch_cluster_custom_object("networking.tke.cloud.tencent.com", "v1", "nodeeniconfigs", "node-1",
                                            {"spec": {"maxENI": 1}})
    kube.patch_status(full)
    wait_until(lambda: filtered(pod("app-1"))["NodeNames"] == ["node-3"])
    assert filtered(pod("web-0"))["NodeNames"] == []

    # the retained claim is deleted (kubectl delete vipc web-0): web-0 may go anywhere with room
    kube.custom.delete_namespaced_custom_object("networking.tke.cloud.tencent.com", "v1", "default", "vpcipclaims",
                                                "web-0")
    wait_until(lambda: filtered(pod("web-0"))["NodeNames"] == ["node-3"])

    # a pod nominating node-1's subnet fails there for room, and elsewhere for its zone
    answer = filtered(pod("db-0", nominated_subnets=["subnet-gz3a"]))
    assert answer["NodeNames"] == [] and set(answer["FailedNodes"]) == {"node-1", "node-2"}
    assert "SubnetMismatch" in answer["FailedAndUnresolvableNodes"]["node-3"]
    assert program.stop() == 0


def test_a_pod_without_eni_ip_passes_untouched_even_before_objects_exist(kube, run_program, wait_until):
    program = run_program()
    url, is_ready = ready(program)
    wait_until(is_ready)
    plain = copy.deepcopy(pod("plain", eni_ip=False))
    status, answer = program.request("POST", url + "/filter", {"Pod": plain, "NodeNames": ["anything"]})
    assert (status, answer["NodeNames"], answer["FailedNodes"]) == (200, ["anything"], {})
    status, answer = program.request("POST", url + "/filter", {"Pod": pod("app-1"), "NodeNames": ["anything"]})
    assert answer["FailedAndUnresolvableNodes"] == {
        "anything": "[ip-scheduler] InsufficientIPorENI: the node has no NodeENIConfig"}
