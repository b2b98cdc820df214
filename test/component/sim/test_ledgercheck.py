"""The four-view check finds duplicates, unrouted pods, leaks and stale allocations, and nothing else."""

from __future__ import annotations

from eni.sim.ledgercheck import AgentAllocation, CloudIp, PodView, Views, evaluate

NOW = 1_000_000.0


def _consistent() -> Views:
    return Views(
        cloud_ips={"10.0.1.5": CloudIp("10.0.1.5", "eni-prim0001", "ins-node0001", True),
                   "10.0.2.3": CloudIp("10.0.2.3", "eni-pods0001", "ins-node0001", True),
                   "10.0.2.4": CloudIp("10.0.2.4", "eni-pods0001", "ins-node0001", False),
                   "10.0.2.5": CloudIp("10.0.2.5", "eni-pods0001", "ins-node0001", False)},
        cloud_secondary_enis={"eni-pods0001"},
        node_instances={"node-1": "ins-node0001", "node-2": "ins-node0002"},
        crd_enis={"eni-pods0001"},
        crd_ips={"10.0.2.3": "nec/node-1", "10.0.2.4": "nec/node-1", "10.0.2.5": "vip"},
        allocations=[AgentAllocation("node-1", "default/web-0", "10.0.2.4", NOW - 5)],
        pods=[PodView("default/web-0", "node-1", "10.0.2.4", "Running", False),
              PodView("kube-system/proxy", "node-1", "10.0.1.5", "Running", True)],
    )


def test_a_consistent_cluster_passes_with_one_row_per_secondary_ip():
    report = evaluate(_consistent(), now=NOW)
    assert report.ok, report.problems
    assert [r[0] for r in report.rows] == ["10.0.2.4", "10.0.2.5"]
    assert report.rows[0][3:] == ("default/web-0", "default/web-0 (node-1, Running)")


def test_two_pods_on_one_ip_is_a_duplicate():
    views = _consistent()
    views.pods.append(PodView("default/web-1", "node-1", "10.0.2.4", "Running", False))
    kinds = {(p.kind, p.subject) for p in evaluate(views, now=NOW).problems}
    assert kinds == {("duplicate", "10.0.2.4")}


def test_a_running_pod_whose_ip_is_on_another_node_or_nowhere_is_unrouted():
    views = _consistent()
    views.pods.append(PodView("default/web-2", "node-2", "10.0.2.5", "Running", False))
    views.pods.append(PodView("default/web-3", "node-1", "10.0.9.9", "Running", False))
    problems = {p.subject: p for p in evaluate(views, now=NOW).problems}
    assert set(problems) == {"default/web-2", "default/web-3"}
    assert "not to node-2" in problems["default/web-2"].detail
    assert "not assigned" in problems["default/web-3"].detail


def test_cloud_enis_and_ips_unknown_to_the_crds_are_leaks():
    views = _consistent()
    views.cloud_secondary_enis.add("eni-orphan01")
    views.cloud_ips["10.0.2.9"] = CloudIp("10.0.2.9", "eni-pods0001", "ins-node0001", False)
    leaks = sorted(p.subject for p in evaluate(views, now=NOW).problems if p.kind == "leak")
    assert leaks == ["10.0.2.9", "eni-orphan01"]


def test_an_allocation_of_a_gone_pod_is_stale_only_after_the_grace():
    views = _consistent()
    views.allocations.append(AgentAllocation("node-1", "default/gone-0", "10.0.2.5", NOW - 30))
    assert evaluate(views, now=NOW, gc_grace=60).ok
    (problem,) = evaluate(views, now=NOW, gc_grace=10).problems
    assert (problem.kind, problem.subject) == ("stale", "10.0.2.5")


def test_an_agent_that_does_not_answer_fails_the_check():
    views = _consistent()
    views.unreachable_agents.append("node-2")
    assert [(p.kind, p.subject) for p in evaluate(views, now=NOW).problems] == [("agent", "node-2")]
