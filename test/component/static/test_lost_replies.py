"""A cloud call that took effect but whose reply was lost or failed (a NotFound about the task waited
for, a throttled or timed-out reply) never leaves an IP assigned in the cloud that no VpcIP records.

The real adapter runs against the emulator; ``Cluster.lose_replies`` lets the call through and then
raises the error, as a reply lost after the cloud acted looks to ipamd. A reconcile's errors are kept,
as the work queue would log and retry them.
"""

from __future__ import annotations

from typing import Any

import pytest

from eni.api.v1.constants import ANNOTATION_NOMINATED_VPC_IP
from eni.cloud.errors import CloudUnavailable, NotFound, Throttled
from eni.cloud.types import EniId
from eni.controllers.nec.intents import ANNOTATION_PENDING_ASSIGN

NOMINATED = "10.0.1.20"


def assert_recorded(cluster) -> None:
    """Every secondary IP in the cloud has its VpcIP, and the other way round."""
    assert cluster.cloud_ips() == set(cluster.vpc_ips())


ERRORS = {
    "not-found": NotFound("ResourceNotFound", "The task `t-1` does not exist."),
    "throttled": Throttled("RequestLimitExceeded", "Too many requests."),
    "timed-out": CloudUnavailable("ClientSideTaskTimeout", "task still running"),
}


@pytest.mark.parametrize("error", sorted(ERRORS))
@pytest.mark.parametrize("nominated", [False, True], ids=["new-ips", "nominated-ip"])
def test_an_assign_whose_reply_is_lost_after_the_cloud_acted_is_recorded_not_leaked(make_cluster, error,
                                                                                   nominated):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.passes(2)
    losing = cluster.lose_replies("assign_private_ips", ERRORS[error], times=2)
    cluster.add_pod("a", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: NOMINATED} if nominated else {})
    cluster.add_pod("b", "node-1")
    errors = cluster.passes(8)
    assert losing.raised >= 1
    # A NotFound is settled at once (what the ENI shows unrecorded is recorded); the others are retried.
    assert (errors == []) if error == "not-found" else len(errors) >= 1, errors
    assert cluster.held_ip("a") and cluster.held_ip("b")
    if nominated:
        assert cluster.held_ip("a") == NOMINATED
    assert_recorded(cluster)  # the IPs of the lost replies are recorded (and released), not left unknown
    assert ANNOTATION_PENDING_ASSIGN not in (cluster.nodes_nec("node-1").metadata.annotations or {})
    for name in ("a", "b"):
        cluster.delete_pod(name)
    cluster.passes(8)
    assert cluster.cloud_ips() == set() and cluster.vpc_ips() == {}
    assert cluster.violations == []


class PartlyUnassignedVpc:
    """Delegates to the real adapter; before the first batch unassign of two or more IPs, one of them is
    unassigned on its own (as by a call whose reply was lost), so the cloud answers ResourceNotFound."""

    def __init__(self, vpc: Any) -> None:
        self._vpc = vpc
        self.raced: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vpc, name)

    def unassign_private_ips(self, eni_id: EniId, addresses: list[str]) -> None:
        if not self.raced and len(addresses) >= 2:
            self.raced.append(addresses[0])
            self._vpc.unassign_private_ips(eni_id, addresses[:1])
        self._vpc.unassign_private_ips(eni_id, addresses)


def test_an_unassign_refused_as_not_found_forgets_only_the_ips_the_eni_no_longer_holds(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    names = ["a", "b", "c"]
    for name in names:
        cluster.add_pod(name, "node-1")
    cluster.converge()
    assert len(cluster.cloud_ips()) == 3
    racing = PartlyUnassignedVpc(cluster.nodes._vpc)
    cluster.use_vpc(racing)
    for name in names:
        cluster.delete_pod(name)
    errors = cluster.passes(10)
    assert racing.raced and any("NotFound" in e for e in errors), errors
    assert cluster.cloud_ips() == set() and cluster.vpc_ips() == {}  # the rest were unassigned on a later pass
    assert cluster.violations == []


@pytest.mark.parametrize("error", ["throttled", "timed-out"])
def test_an_unassign_whose_reply_is_lost_after_the_cloud_acted_leaves_no_record_behind(make_cluster, error):
    cluster = make_cluster()
    cluster.add_node("node-1")
    for name in ("a", "b"):
        cluster.add_pod(name, "node-1")
    cluster.converge()
    held = {cluster.held_ip("a"), cluster.held_ip("b")}
    assert held == cluster.cloud_ips() == set(cluster.vpc_ips())
    losing = cluster.lose_replies("unassign_private_ips", ERRORS[error], times=1)
    for name in ("a", "b"):
        cluster.delete_pod(name)
    errors = cluster.passes(8)
    assert losing.raised == 1 and errors, errors
    assert cluster.cloud_ips() == set() and cluster.vpc_ips() == {}  # the records went too, not left stale
    assert cluster.claim("a") is None and cluster.claim("b") is None  # so the claims' finalizers let them go
    assert cluster.violations == []


def test_pods_are_served_when_every_assign_reply_is_a_not_found_about_the_task(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    losing = cluster.lose_replies("assign_private_ips", ERRORS["not-found"], times=1000)
    names = [f"p-{i}" for i in range(4)]
    for name in names[:2]:
        cluster.add_pod(name, "node-1")
    cluster.passes(3)
    for name in names[2:]:
        cluster.add_pod(name, "node-1")
    assert cluster.passes(4) == []
    assert losing.raised >= 2
    held = {cluster.held_ip(name) for name in names}
    assert None not in held and len(held) == 4  # the node never waits on an intent that cannot finish
    assert_recorded(cluster)
    assert ANNOTATION_PENDING_ASSIGN not in (cluster.nodes_nec("node-1").metadata.annotations or {})
    assert cluster.violations == []
