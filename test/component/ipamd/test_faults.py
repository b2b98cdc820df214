"""With the emulator throttling 30% of calls and failing 10% of tasks the pools still converge and
cloud state == VpcENI/VpcIP/NEC state at the end: no leak, no orphan."""

from __future__ import annotations

from eni.api.v1 import IPState


def test_pools_converge_under_throttling_and_failed_tasks(make_cluster):
    cluster = make_cluster()
    for name in ("node-1", "node-2", "node-3"):
        cluster.add_node(name)
    cluster.emulator.faults.throttle(probability=0.3)
    cluster.emulator.faults.fail_tasks(probability=0.1, next_n=2)  # at least two, then one in ten
    for agent in cluster.agents.values():
        agent.want_pods = 12
    cluster.converge(rounds=200, tolerate_errors=True)
    outcomes = {s.labels["outcome"] for m in cluster.registry.collect() if m.name == "tke_eni_ipamd_cloud_calls"
                for s in m.samples if s.value > 0}
    assert {"ok", "TaskFailed"} <= outcomes, outcomes  # failed tasks reached ipamd and were retried
    for agent in cluster.agents.values():
        agent.want_pods = 2
    cluster.restart(quick_release=True)
    cluster.clock.step(cluster.config.release_interval)
    cluster.converge(rounds=200, tick=True, tolerate_errors=True)
    assert cluster.emulator.calls.count(outcome="RequestLimitExceeded") > 0

    cluster.emulator.faults.clear()
    report = cluster.collect_garbage()
    assert report.deleted_enis == () and report.unassigned_ips == ()  # nothing leaked
    cluster.converge()
    for name, expected in (("node-1", 7), ("node-2", 7), ("node-3", 5)):
        assert len(cluster.nec(name).status.ips_in_state(IPState.BOUND)) == expected
        cluster.assert_consistent(name)
    assert cluster.violations == []
