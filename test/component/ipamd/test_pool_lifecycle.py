"""Three nodes of different instance types, pods 0 -> 30 -> 0 (issue 4's first scenario)."""

from __future__ import annotations

from eni.api.v1 import IPState

CAPS = {"node-1": 27, "node-2": 95, "node-3": 5}


def bound(cluster, name):
    return len(cluster.nec(name).status.ips_in_state(IPState.BOUND))


def test_pods_up_and_down_keep_the_window_cap_and_fewest_enis(make_cluster):
    cluster = make_cluster()
    for name in CAPS:
        cluster.add_node(name)
    cluster.converge()
    for name in CAPS:
        assert bound(cluster, name) == 5
        assert len(cluster.nec(name).status.enis) == 1
        cluster.assert_consistent(name)

    for agent in cluster.agents.values():
        agent.want_pods = 30
    cluster.converge()
    for name, cap in CAPS.items():
        agent = cluster.agents[name]
        held = min(30, cap)
        assert len(agent.holding) == held
        assert bound(cluster, name) == min(held + 5, cap), name  # inside the window, never above the cap
        cluster.assert_consistent(name)
    # Fewest ENIs: node-2 (19 IPs per ENI) needs exactly 2 ENIs for 35 IPs; node-1 (9 per ENI) all 3.
    assert len(cluster.nec("node-2").status.enis) == 2
    assert len(cluster.nec("node-1").status.enis) == 3
    assert len(cluster.nec("node-3").status.enis) == 1

    for agent in cluster.agents.values():
        agent.want_pods = 0
    cluster.converge()  # no tick has passed: nothing is released yet
    assert bound(cluster, "node-2") == 35
    cluster.clock.step(cluster.config.release_interval)
    cluster.converge()
    assert bound(cluster, "node-2") == 34  # slow release: one idle IP per tick
    assert bound(cluster, "node-1") == 26
    assert bound(cluster, "node-3") == 5  # already in its window
    cluster.clock.step(cluster.config.release_interval / 2)
    cluster.converge()
    assert bound(cluster, "node-2") == 34  # half a tick later: still one
    cluster.clock.step(cluster.config.release_interval / 2)
    cluster.converge()
    assert bound(cluster, "node-2") == 33
    for name in CAPS:
        cluster.assert_consistent(name)

    cluster.restart(quick_release=True)
    cluster.converge()  # a fresh process waits one interval before its first release tick
    assert bound(cluster, "node-2") == 33
    cluster.clock.step(cluster.config.release_interval)
    cluster.converge()
    for name in CAPS:
        assert bound(cluster, name) == 5
        assert len(cluster.nec(name).status.enis) == 1  # emptied ENIs were detached and deleted
        cluster.assert_consistent(name)
    assert cluster.violations == []
    held_ever = set().union(*(a.ever_held for a in cluster.agents.values()))
    assert len(held_ever) >= 62
