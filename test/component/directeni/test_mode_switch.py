"""A cluster switched from static-IP to non-static mode: the exclusive ENIs static mode kept for pods with delete
policy Never are given back. Non-static mode never gives a pod a kept ENI (a pod takes one from its node's warm
pool), so they are surplus at once: the reclaimer deletes them (Event ``ENIReclaimed``), an interrupted keep is
finished first, and a removed node's exclusive ENIs are all deleted instead of kept."""

from __future__ import annotations

import dataclasses

from eni.api.v1 import VPC_ENI
from eni.api.v1.constants import ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.controllers.static.config import StaticConfig
from eni.runtime.meta import NODE, ObjectKey
from eni.runtime.reconcile import Request

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}


def switch_to_non_static(cluster) -> None:
    """ipamd and the agents restarted with ``--mode non-static``; the cluster and the cloud stay."""
    cluster.config = dataclasses.replace(cluster.config, static=None)
    cluster.restart()
    for agent in cluster.agents.values():
        agent.static = False


def kept_for(cluster, name: str) -> str:
    cluster.add_pod(name, "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by(name)
    assert eni_id is not None
    cluster.delete_pod(name)
    cluster.converge()
    assert cluster.veni(eni_id).spec.node_name == ""  # kept, detached, for the next pod of that name
    return eni_id


def test_enis_kept_in_static_mode_are_deleted_after_the_switch(make_cluster):
    cluster = make_cluster(static=StaticConfig())
    cluster.add_node("node-1")
    first, second = kept_for(cluster, "db-0"), kept_for(cluster, "db-1")
    assert cluster.reclaim() == []  # static mode keeps them (no expiry)
    switch_to_non_static(cluster)
    cluster.add_pod("db-0", "node-1", annotations=NEVER)  # a pod of that name does not hold its ENI back
    cluster.converge()
    reclaimed = cluster.reclaim()
    assert sorted(r.eni_id for r in reclaimed) == sorted([first, second])
    assert all("static-IP mode" in r.reason for r in reclaimed)
    for eni_id in (first, second):
        assert cluster.veni(eni_id) is None and cluster.cloud_eni(eni_id) is None
    assert {e["involvedObject"]["name"] for e in cluster.events("ENIReclaimed", namespace="")} >= {first, second}
    assert first not in cluster.cloud_direct("node-1") and second not in cluster.cloud_direct("node-1")
    assert cluster.violations == []


def test_a_keep_interrupted_before_the_switch_is_finished_then_reclaimed(make_cluster):
    from eni.controllers.directeni.keep import ANNOTATION_KEPT_SINCE

    cluster = make_cluster(static=StaticConfig())
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    # ipamd stopped right after it started keeping the ENI: marked, still attached and labelled with its node.
    cluster.client.patch(VPC_ENI, ObjectKey("", eni_id), {"metadata": {"annotations": {
        ANNOTATION_KEPT_SINCE: "2026-01-01T00:00:00Z"}}})
    cluster.client.patch(VPC_ENI, ObjectKey("", eni_id), {"status": {"phase": "Detaching"}}, subresource="status")
    cluster.delete_pod("db-0")
    cluster.agents["node-1"].holding.clear()
    switch_to_non_static(cluster)
    assert cluster.reclaim() == []  # still on its node: the node's pass finishes detaching it first
    cluster.converge()
    assert [r.eni_id for r in cluster.reclaim()] == [eni_id]
    assert cluster.veni(eni_id) is None and cluster.cloud_eni(eni_id) is None


def test_node_removal_after_the_switch_deletes_the_enis_of_never_pods(make_cluster):
    cluster = make_cluster(static=StaticConfig())
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    switch_to_non_static(cluster)
    cluster.client.delete(NODE, ObjectKey("", "node-1"))
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert cluster.veni(eni_id) is None and cluster.cloud_eni(eni_id) is None
    assert cluster.client.list(VPC_ENI) == []
