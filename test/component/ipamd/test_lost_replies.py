"""Warm pools when a cloud call took effect but its reply was lost (a NotFound about the task waited for,
a throttled or timed-out reply): the records still match the cloud without waiting for the GC — an
assign's IPs are found by replaying its intent, an unassign's records go once the ENI no longer shows
the IPs — and no IP a pod holds is unassigned."""

from __future__ import annotations

import pytest

from eni.api.v1 import VPC_IP, IPState
from eni.cloud.errors import CloudError, CloudUnavailable, NotFound, Throttled
from eni.sim.testbed import LosingVpc

ERRORS = {
    "not-found": NotFound("ResourceNotFound", "The task `t-1` does not exist."),
    "throttled": Throttled("RequestLimitExceeded", "Too many requests."),
    "timed-out": CloudUnavailable("ClientSideTaskTimeout", "task still running"),
}


def lose_replies(cluster, method: str, error: CloudError, times: int = 1) -> LosingVpc:
    losing = LosingVpc(cluster.adapter, method, error, times)
    cluster.reconciler._vpc = losing
    for part in ("_enis", "_ips", "_necs", "_sgs"):
        getattr(cluster.reconciler, part)._vpc = losing
    return losing


def recorded(cluster) -> set[str]:
    return {o["metadata"]["name"] for o in cluster.client.list(VPC_IP)}


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_a_lost_assign_reply_is_replayed_and_recorded(make_cluster, error):
    cluster = make_cluster()
    cluster.add_node("node-1")
    losing = lose_replies(cluster, "assign_private_ips", ERRORS[error], times=2)
    cluster.agents["node-1"].want_pods = 6
    cluster.converge(rounds=40, tolerate_errors=True)
    assert losing.raised == 2
    report = cluster.collect_garbage()
    assert report.unassigned_ips == ()  # nothing was left for the GC: the replays recorded the IPs
    cluster.assert_consistent("node-1")
    assert cluster.violations == []


@pytest.mark.parametrize("error", ["throttled", "timed-out"])
def test_a_lost_unassign_reply_leaves_no_stale_record(make_cluster, error):
    cluster = make_cluster(quick_release=True)
    cluster.add_node("node-1")
    agent = cluster.agents["node-1"]
    agent.want_pods = 12
    cluster.converge()
    agent.want_pods = 2
    cluster.clock.step(cluster.config.release_interval)
    losing = lose_replies(cluster, "unassign_private_ips", ERRORS[error])
    cluster.converge(tick=True, tolerate_errors=True)
    assert losing.raised == 1
    cloud = {ip.address for e in cluster.cloud_enis("ins-emu00001") for ip in e.secondary_ips}
    assert recorded(cluster) == cloud  # without a GC pass
    assert set(agent.holding) <= set(cluster.nec("node-1").status.ips_in_state(IPState.BOUND))
    cluster.assert_consistent("node-1")
    assert cluster.violations == []
