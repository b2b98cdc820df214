"""ipamd killed at chosen points (ENI created but not recorded, assign in flight, mid-handshake) and
restarted: after GC the state is consistent, nothing leaked, and no IP a pod held was unassigned."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eni.api.v1 import IPState
from eni.sim.testbed import AfterCall


class Crash(BaseException):
    """The process dies here (BaseException: nothing in ipamd may swallow it)."""


def _dies(method: str) -> Callable[[], None]:
    def die() -> None:
        raise Crash(f"killed after {method}")

    return die


def crash_at(cluster, method: str, nth: int = 1) -> None:
    cluster.reconciler._vpc = AfterCall(cluster.adapter, method, _dies(method), first=nth)  # the process that will die
    for sub in ("_enis", "_ips", "_necs", "_sgs"):
        getattr(cluster.reconciler, sub)._vpc = cluster.reconciler._vpc


def run_until_crash(cluster) -> None:
    with pytest.raises(Crash):
        cluster.converge(rounds=20)


@pytest.mark.parametrize(("method", "nth"), [("create_eni", 1), ("create_eni", 2), ("attach_eni", 1),
                                             ("assign_private_ips", 1), ("assign_private_ips", 2)])
def test_crash_while_growing_resumes_without_leaks(make_cluster, method, nth):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.agents["node-1"].want_pods = 12
    crash_at(cluster, method, nth)
    run_until_crash(cluster)
    cluster.restart()
    cluster.converge()
    creates = cluster.emulator.calls.count("CreateNetworkInterface")
    report = cluster.collect_garbage()
    assert report.deleted_enis == () and report.unassigned_ips == ()  # the intent replay found them all
    cluster.converge()
    nec = cluster.nec("node-1")
    assert len(nec.status.ips_in_state(IPState.BOUND)) == 17
    assert len(nec.status.enis) == 2
    assert cluster.emulator.calls.count("CreateNetworkInterface") == creates
    cluster.assert_consistent("node-1")
    assert cluster.violations == []


@pytest.mark.parametrize("method", ["unassign_private_ips", "detach_eni", "delete_eni"])
def test_crash_while_releasing_never_unassigns_a_held_ip(make_cluster, method):
    cluster = make_cluster(quick_release=True)
    cluster.add_node("node-1")
    agent = cluster.agents["node-1"]
    agent.want_pods = 20
    cluster.converge()
    agent.want_pods = 3
    cluster.clock.step(cluster.config.release_interval)
    crash_at(cluster, method)
    run_until_crash(cluster)
    cluster.restart(quick_release=True)
    cluster.converge(tick=True)
    assert cluster.emulator.calls.count("DeleteNetworkInterface") >= 1  # emptied ENIs did go
    cluster.collect_garbage()
    cluster.converge()
    nec = cluster.nec("node-1")
    assert len(nec.status.ips_in_state(IPState.BOUND)) == 8
    assert set(agent.holding) <= set(nec.status.ips_in_state(IPState.BOUND))
    cluster.assert_consistent("node-1")
    assert cluster.violations == []


def test_leaked_resources_are_collected_after_the_grace_period(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.converge()
    stray_eni = cluster.adapter.create_eni(intent="stray", subnet_id="subnet-gz3a0001", name="stray")
    eni_id = cluster.nec("node-1").status.enis[0].eni_id
    stray_ip = cluster.adapter.assign_private_ips(eni_id, intent="stray-ip", count=1)[0].address
    gc = cluster.collector()
    first = gc.collect_once()
    assert first.deleted_enis == () and first.unassigned_ips == ()  # within the grace period
    cluster.clock.step(61.0)
    second = gc.collect_once()
    assert second.deleted_enis == (stray_eni.id,)
    assert second.unassigned_ips == (stray_ip,)
    cluster.converge()
    cluster.assert_consistent("node-1")
