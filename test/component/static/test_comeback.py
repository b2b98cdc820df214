"""A retained IP whose pod left its node is marked Releasing there and, once the node's agent released it, waits
for the pod's new node to move it. When the pod of that name comes back to the node that still holds the IP
before the move, the release is cancelled and the IP stays on its ENI: had it been given back to the VPC and
assigned again, another node could take it in between (the cloud hands out its lowest free address first).
When the pod comes back to another node, the IP moves there as before."""

from __future__ import annotations

import threading
from typing import Any

from eni.api.v1 import NODE_ENI_CONFIG, AgentStatus, ClaimPhase, IPState, VpcIPPhase, agent_status_patch
from eni.api.v1.constants import ANNOTATION_NOMINATED_ENI_SUBNETS, ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.controllers.eni.records import Records
from eni.runtime.meta import ObjectKey
from eni.runtime.reconcile import Request
from eni.sim.testbed import AfterCall

NEVER_IN_SUBNET = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never", ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3a0001"}
SUBNET = {ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3a0001"}
ADDRESS_CALLS = ("AssignPrivateIpAddresses", "UnassignPrivateIpAddresses", "MigratePrivateIpAddress")


def _state_on(cluster: Any, node: str, address: str) -> IPState | None:
    return next((e.state for eni in cluster.nodes_nec(node).status.enis for e in eni.ips if e.ip == address), None)


def _released_mid_move(cluster: Any) -> str:
    """db-0's retained IP on node-1, Releasing there and released by node-1's agent, its pod now on node-2, whose
    pass has not moved it yet; node-2 holds another IP of the subnet, so its ENI there can take more."""
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.add_pod("db-0", "node-1", annotations=NEVER_IN_SUBNET)
    cluster.converge()
    cluster.add_pod("keep", "node-2", annotations=SUBNET)
    cluster.converge()
    first = cluster.held_ip("db-0")
    assert first is not None
    cluster.delete_pod("db-0")
    cluster.converge()
    cluster.add_pod("db-0", "node-2", annotations=NEVER_IN_SUBNET)
    cluster.claims.reconcile(Request(namespace="default", name="db-0"))
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    cluster.agents["node-1"].step(cluster.live_pods(), cluster.violations)
    nec = cluster.nodes_nec("node-1")
    assert _state_on(cluster, "node-1", first) is IPState.RELEASING
    assert first in nec.status.agent.released_ips
    return first


def _calls(cluster: Any) -> dict[str, int]:
    return {action: cluster.emulator.calls.count(action) for action in ADDRESS_CALLS}


def test_a_pod_back_on_the_node_that_releases_its_ip_keeps_it_though_another_node_wants_one(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    taken: list[str] = []

    def another_node_takes_the_lowest_free_ip() -> None:
        cluster.add_pod("thief", "node-2", annotations=SUBNET)
        cluster.claims.reconcile(Request(namespace="default", name="thief"))
        cluster.nodes.reconcile(Request(namespace="", name="node-2"))
        taken.append(cluster.claim("thief").status.ip)

    hook = AfterCall(cluster.nodes._vpc, "unassign_private_ips", another_node_takes_the_lowest_free_ip)
    cluster.use_vpc(hook)
    before = _calls(cluster)
    cluster.delete_pod("db-0")  # its pod on node-2 goes before node-2 moved the IP, and comes back to node-1
    cluster.add_pod("db-0", "node-1", annotations=NEVER_IN_SUBNET)
    cluster.converge()

    assert cluster.events("IPConflict") == []
    assert cluster.held_ip("db-0") == first
    assert cluster.agents["node-1"].holding[first][1] == "db-0"
    claim = cluster.claim("db-0")
    assert claim.status.phase is ClaimPhase.BOUND and claim.status.ip == first and claim.status.node_name == "node-1"
    assert not hook.ran and taken == []
    assert _calls(cluster) == before  # the address never left its ENI
    assert _state_on(cluster, "node-1", first) is IPState.BOUND
    assert first not in cluster.nodes_nec("node-1").status.agent.released_ips
    vip = cluster.vpc_ips()[first]
    assert vip["spec"]["nodeName"] == "node-1" and vip["status"]["phase"] == "Assigned"
    assert vip["spec"]["claimRef"]["uid"] == claim.metadata.uid
    assert cluster.violations == []

    cluster.add_pod("thief", "node-2", annotations=SUBNET)  # another node's new pod gets another address
    cluster.converge()
    assert cluster.held_ip("thief") not in (None, first)
    assert cluster.cloud_ips() == set(cluster.vpc_ips())
    assert cluster.violations == []


def test_a_pod_back_on_another_node_gets_its_ip_moved_there(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    before = _calls(cluster)
    cluster.delete_pod("db-0")  # replaced by a new pod of the name on node-2 before the move
    cluster.add_pod("db-0", "node-2", annotations=NEVER_IN_SUBNET)
    cluster.converge()

    assert cluster.held_ip("db-0") == first
    assert cluster.agents["node-2"].holding[first][1] == "db-0"
    assert _state_on(cluster, "node-1", first) is None
    claim = cluster.claim("db-0")
    assert claim.status.node_name == "node-2" and claim.status.ip == first
    after = _calls(cluster)
    assert after["MigratePrivateIpAddress"] == before["MigratePrivateIpAddress"] + 1
    assert after["UnassignPrivateIpAddresses"] == before["UnassignPrivateIpAddresses"]
    assert after["AssignPrivateIpAddresses"] == before["AssignPrivateIpAddresses"]
    assert cluster.vpc_ips()[first]["spec"]["nodeName"] == "node-2"
    assert cluster.cloud_ips() == set(cluster.vpc_ips())
    assert cluster.violations == []


def _eni_of(cluster: Any, node: str, address: str) -> str:
    return next(eni.eni_id for eni in cluster.nodes_nec(node).status.enis if any(e.ip == address for e in eni.ips))


def test_a_move_decided_on_an_older_confirmation_is_refused_once_the_node_kept_the_ip(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    stale_claim = cluster.claim("db-0")
    source = _eni_of(cluster, "node-1", first)
    target = _eni_of(cluster, "node-2", cluster.held_ip("keep"))
    cluster.delete_pod("db-0")
    cluster.add_pod("db-0", "node-1", annotations=NEVER_IN_SUBNET)
    cluster.claims.reconcile(Request(namespace="default", name="db-0"))
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert _state_on(cluster, "node-1", first) is IPState.BOUND
    before = _calls(cluster)

    moved = cluster.nodes._static._static.migrate(address=first, source_eni_id=source, node="node-2", eni_id=target,
                                                  subnet_id="subnet-gz3a0001", claim=stale_claim,
                                                  confirmed=lambda: True)  # as node-2 read node-1's NEC before
    assert moved is False
    assert _calls(cluster) == before
    cluster.converge()
    assert cluster.held_ip("db-0") == first and cluster.agents["node-1"].holding[first][1] == "db-0"
    assert cluster.violations == []


class _SlowMigrate:
    """Delegates to the adapter; a migrate signals ``entered`` and then waits for ``go`` before it calls the cloud."""

    def __init__(self, vpc: Any) -> None:
        self._vpc, self.entered, self.go = vpc, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._vpc, name)
        if name != "migrate_private_ip":
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            assert self.go.wait(30.0)
            return target(*args, **kwargs)

        return call


def test_a_release_cannot_be_cancelled_while_a_move_of_the_ip_is_in_flight(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    claim = cluster.claim("db-0")
    source = _eni_of(cluster, "node-1", first)
    target = _eni_of(cluster, "node-2", cluster.held_ip("keep"))
    slow = _SlowMigrate(cluster.nodes._vpc)
    static = cluster.nodes._static._static
    static._vpc = slow
    results: dict[str, bool] = {}

    def move() -> None:
        results["moved"] = static.migrate(address=first, source_eni_id=source, node="node-2", eni_id=target,
                                          subnet_id="subnet-gz3a0001", claim=claim,
                                          confirmed=lambda: cluster.nodes._static._released_by("node-1", first))

    def cancel() -> None:
        results["kept"] = static.keep(first, eni_id=source, claim=claim)

    mover = threading.Thread(target=move)
    mover.start()
    assert slow.entered.wait(30.0)
    canceller = threading.Thread(target=cancel)
    canceller.start()
    canceller.join(0.3)
    assert canceller.is_alive()  # waits for the move: the address is still on node-1's ENI meanwhile
    slow.go.set()
    mover.join(30.0)
    canceller.join(30.0)
    assert results == {"moved": True, "kept": False}
    assert cluster.vpc_ips()[first]["spec"]["eniId"] == target


def test_a_cancel_cut_short_before_the_nec_said_bound_does_not_block_a_later_move(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    Records(cluster.client).set_ip_phase(first, VpcIPPhase.ASSIGNED)  # the record kept, the NEC still Releasing
    cluster.converge()
    assert cluster.held_ip("db-0") == first
    assert cluster.agents["node-2"].holding[first][1] == "db-0"
    assert cluster.vpc_ips()[first]["spec"]["nodeName"] == "node-2"
    assert cluster.violations == []


def _kept_on_node_1_before_its_agent_looked(cluster: Any) -> str:
    """db-0 came back to node-1, which kept its IP (Bound again), while node-1's agent still lists the IP released
    from the cancelled round."""
    first = _released_mid_move(cluster)
    cluster.delete_pod("db-0")
    cluster.add_pod("db-0", "node-1", annotations=NEVER_IN_SUBNET)
    cluster.claims.reconcile(Request(namespace="default", name="db-0"))
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    nec = cluster.nodes_nec("node-1")
    assert _state_on(cluster, "node-1", first) is IPState.BOUND and first in nec.status.agent.released_ips
    return first


def test_a_release_another_node_asks_for_waits_until_the_agent_dropped_its_earlier_listing(make_cluster):
    cluster = make_cluster()
    first = _kept_on_node_1_before_its_agent_looked(cluster)
    cluster.delete_pod("db-0")  # and off again, to node-2, whose pass asks node-1 to release the IP
    cluster.add_pod("db-0", "node-2", annotations=NEVER_IN_SUBNET)
    cluster.claims.reconcile(Request(namespace="default", name="db-0"))
    cluster.nodes.reconcile(Request(namespace="", name="node-2"))
    assert cluster.vpc_ips()[first]["status"]["phase"] == "Releasing"
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert _state_on(cluster, "node-1", first) is IPState.BOUND  # the listing is of the cancelled round

    cluster.agents["node-1"].step(cluster.live_pods(), cluster.violations)  # the agent saw it Bound: listing gone
    assert first not in cluster.nodes_nec("node-1").status.agent.released_ips
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert _state_on(cluster, "node-1", first) is IPState.RELEASING
    before = _calls(cluster)
    cluster.converge()
    assert cluster.held_ip("db-0") == first and cluster.agents["node-2"].holding[first][1] == "db-0"
    assert _calls(cluster)["MigratePrivateIpAddress"] == before["MigratePrivateIpAddress"] + 1
    assert cluster.violations == []


def test_a_release_asked_for_on_an_older_view_of_the_pod_is_dropped_by_the_node_that_serves_it(make_cluster):
    cluster = make_cluster()
    first = _kept_on_node_1_before_its_agent_looked(cluster)
    Records(cluster.client).set_ip_phase(first, VpcIPPhase.RELEASING)  # as a pass that still saw db-0 on node-2
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert _state_on(cluster, "node-1", first) is IPState.BOUND
    assert cluster.vpc_ips()[first]["status"]["phase"] == "Assigned"
    before = _calls(cluster)
    cluster.converge()
    assert cluster.held_ip("db-0") == first and cluster.agents["node-1"].holding[first][1] == "db-0"
    assert _calls(cluster) == before
    assert cluster.violations == []


def test_a_move_asks_the_source_node_again_under_the_lock_and_stops_when_a_pod_there_holds_the_ip(make_cluster):
    cluster = make_cluster()
    first = _released_mid_move(cluster)
    claim = cluster.claim("db-0")
    source = _eni_of(cluster, "node-1", first)
    target = _eni_of(cluster, "node-2", cluster.held_ip("keep"))
    node_pass = cluster.nodes._static
    assert node_pass._released_by("node-1", first)
    agent = cluster.nodes_nec("node-1").status.agent
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey("", "node-1"), agent_status_patch(AgentStatus(
        in_use_ips=(first,), released_ips=agent.released_ips, heartbeat_time=agent.heartbeat_time)),
        subresource="status")
    before = _calls(cluster)
    moved = node_pass._static.migrate(address=first, source_eni_id=source, node="node-2", eni_id=target,
                                      subnet_id="subnet-gz3a0001", claim=claim,
                                      confirmed=lambda: node_pass._released_by("node-1", first))
    assert moved is False and _calls(cluster) == before
    assert cluster.vpc_ips()[first]["spec"]["eniId"] == source
