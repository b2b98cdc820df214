"""The real tke-eni-ip-scheduler with --only-nominated-eni-subnets: subnets that pods nominate are kept for
them, whether they ask for an IP of a shared ENI or for a whole exclusive ENI (tke-direct-eni).

Zone ap-guangzhou-3: node-1 may use subnet-gz3a only, node-2 subnet-gz3b only; zone ap-guangzhou-4: node-3,
subnet-gz4a. Every node has room for route ENIs and exclusive ENIs. The pods are created through the official
client and sent to the extender as the API server returns them, the way kube-scheduler sends them.
"""

from __future__ import annotations

from typing import Any

from eni.scheduler.testing import EniLayout, nec, node, pod

ZONE_3, ZONE_4 = "ap-guangzhou-3", "ap-guangzhou-4"
NAMES = ["node-1", "node-2", "node-3"]
RESERVED = "[ip-scheduler] InsufficientIPorENI: all of the node's subnets are reserved for pods that nominate them"


def populate(kube: Any) -> None:
    objects = [
        node("node-1", zone=ZONE_3), node("node-2", zone=ZONE_3), node("node-3", zone=ZONE_4),
        nec("node-1", zone=ZONE_3, subnets=["subnet-gz3a"], enis=[EniLayout("eni-1", "subnet-gz3a", "10.0.1.0/24")],
            max_direct_eni=2),
        nec("node-2", zone=ZONE_3, subnets=["subnet-gz3b"], enis=[EniLayout("eni-2", "subnet-gz3b", "10.0.2.0/24")],
            max_direct_eni=2),
        nec("node-3", zone=ZONE_4, subnets=["subnet-gz4a"], enis=[EniLayout("eni-3", "subnet-gz4a", "10.0.3.0/24")],
            max_direct_eni=2),
    ]
    for obj in objects:
        kube.create(obj)


def stored_pod(kube: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create ``manifest`` and return the Pod as the API server has it, in its JSON form."""
    body = {key: value for key, value in manifest.items() if key != "status"}
    body["metadata"] = {key: value for key, value in manifest["metadata"].items() if key != "uid"}
    kube.core.create_namespaced_pod(body["metadata"]["namespace"], body)
    read = kube.core.read_namespaced_pod(body["metadata"]["name"], body["metadata"]["namespace"])
    as_json: dict[str, Any] = kube.api_client.sanitize_for_serialization(read)
    return as_json


def test_a_direct_pods_nominated_subnet_is_kept_for_it_from_pods_of_both_kinds(kube, serve, wait_until):
    populate(kube)
    db = stored_pod(kube, pod("db-0", direct=True, nominated_subnets=["subnet-gz3b"]))
    fast = stored_pod(kube, pod("fast", direct=True))
    app = stored_pod(kube, pod("app-1"))
    program, url = serve("--only-nominated-eni-subnets")

    def filtered(p: dict[str, Any]) -> dict[str, Any]:
        status, answer = program.request("POST", url + "/filter", {"Pod": p, "Nodes": None, "NodeNames": NAMES})
        assert status == 200 and answer["Error"] == ""
        return answer  # type: ignore[no-any-return]

    # the nominating pod goes only where its subnet can be used: any node of its zone (a new ENI there)
    answer = filtered(db)
    assert answer["NodeNames"] == ["node-1", "node-2"]
    assert answer["FailedAndUnresolvableNodes"] == {
        "node-3": "[ip-scheduler] SubnetMismatch: nominated subnets subnet-gz3b (zone ap-guangzhou-3); the node is "
                  "in zone ap-guangzhou-4"}
    status, scores = program.request("POST", url + "/prioritize", {"Pod": db, "NodeNames": NAMES})
    assert status == 200 and scores == [{"Host": "node-1", "Score": 5}, {"Host": "node-2", "Score": 5},
                                        {"Host": "node-3", "Score": 0}]

    # pods that nominate nothing, of either kind, keep off subnet-gz3b: node-2 has no other subnet
    for other in (fast, app):
        answer = filtered(other)
        assert answer["NodeNames"] == ["node-1", "node-3"], other["metadata"]["name"]
        assert answer["FailedAndUnresolvableNodes"] == {"node-2": RESERVED}
        status, scores = program.request("POST", url + "/prioritize", {"Pod": other, "NodeNames": NAMES})
        assert [s["Host"] for s in scores if s["Score"] == 0] == ["node-2"]

    # the nominating pod finishes: its subnet is free for everyone again
    kube.core.patch_namespaced_pod_status("db-0", "default", {"status": {"phase": "Succeeded"}})
    wait_until(lambda: filtered(fast)["NodeNames"] == NAMES, message="the finished pod still reserves its subnet")
    assert filtered(app)["NodeNames"] == NAMES
    assert program.stop() == 0


def test_a_deleted_nominating_pod_frees_its_subnet_and_without_the_flag_nothing_is_reserved(kube, serve, wait_until):
    populate(kube)
    stored_pod(kube, pod("db-0", direct=True, nominated_subnets=["subnet-gz3b"]))
    app = stored_pod(kube, pod("app-1"))

    def passed(program: Any, url: str) -> list[str]:
        status, answer = program.request("POST", url + "/filter", {"Pod": app, "NodeNames": NAMES})
        assert status == 200
        return answer["NodeNames"]  # type: ignore[no-any-return]

    lenient, url = serve()
    assert passed(lenient, url) == NAMES  # without --only-nominated-eni-subnets a nomination reserves nothing
    assert lenient.stop() == 0

    strict, url = serve("--only-nominated-eni-subnets")
    assert passed(strict, url) == ["node-1", "node-3"]
    kube.core.delete_namespaced_pod("db-0", "default", grace_period_seconds=0)
    wait_until(lambda: passed(strict, url) == NAMES, message="the deleted pod still reserves its subnet")
    assert strict.stop() == 0
