"""ipamd killed right after a cloud call of static mode (new IP assigned, nominated address assigned,
IP migrated, ENI created) and restarted: every pod gets its IP, no IP is held twice or leaked."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eni.api.v1.constants import ANNOTATION_NOMINATED_VPC_IP, ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.sim.testbed import AfterCall

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}


class Crash(BaseException):
    """The process dies here (BaseException: nothing in ipamd may swallow it)."""


def _dies(method: str) -> Callable[[], None]:
    def die() -> None:
        raise Crash(f"killed after {method}")

    return die


def crash_at(cluster, method: str) -> None:
    nodes = cluster.nodes
    vpc = AfterCall(nodes._vpc, method, _dies(method))
    nodes._vpc = vpc
    for part in (nodes._enis, nodes._ips, nodes._necs, nodes._sgs, nodes._static._static):
        part._vpc = vpc


def run_until_crash(cluster, rounds: int = 10) -> None:
    with pytest.raises(Crash):
        for _ in range(rounds):
            cluster.step()


def settle_and_check(cluster) -> None:
    cluster.restart()
    cluster.converge(rounds=40)
    assert cluster.violations == []
    for _, name in cluster.live_pods():
        assert cluster.held_ip(name), name
    assert set(cluster.vpc_ips()) == cluster.cloud_ips()


@pytest.mark.parametrize("method", ["assign_private_ips", "create_eni", "attach_eni"])
def test_a_crash_while_serving_new_pods(make_cluster, method):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("a", "node-1")
    cluster.add_pod("b", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.2.50"})
    crash_at(cluster, method)
    run_until_crash(cluster)
    settle_and_check(cluster)
    assert cluster.held_ip("b") == "10.0.2.50"


def test_a_crash_right_after_the_nominated_address_was_assigned(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("a", "node-1")
    cluster.converge()
    cluster.add_pod("b", "node-1", annotations={ANNOTATION_NOMINATED_VPC_IP: "10.0.2.50"})
    crash_at(cluster, "assign_private_ips")
    run_until_crash(cluster)
    settle_and_check(cluster)
    assert cluster.held_ip("b") == "10.0.2.50"


def test_a_crash_right_after_a_retained_ip_was_migrated(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    first = cluster.held_ip("db-0")
    cluster.delete_pod("db-0")
    cluster.converge()
    cluster.add_pod("db-0", "node-2", annotations=NEVER)
    crash_at(cluster, "migrate_private_ip")
    run_until_crash(cluster)
    settle_and_check(cluster)
    assert cluster.held_ip("db-0") == first
