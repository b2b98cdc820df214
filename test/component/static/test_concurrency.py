"""Many pods at once, and churn with ipamd restarts: distinct IPs, never one IP for two live pods."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from eni.api.v1.constants import ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.runtime.reconcile import Request

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}


def _parallel_step(cluster, pool: ThreadPoolExecutor) -> None:
    """Claims reconciled in parallel, then every node in parallel (one worker per key, as the queue does)."""
    keys = sorted(cluster.live_pods())
    list(pool.map(lambda k: cluster.claims.reconcile(Request(namespace=k[0], name=k[1])), keys))
    list(pool.map(lambda n: cluster.nodes.reconcile(Request(namespace="", name=n)), list(cluster.agents)))
    pods = cluster.live_pods()
    for agent in cluster.agents.values():
        agent.step(pods, cluster.violations)
    cluster.check()


def test_fifty_pods_at_once_across_three_nodes_get_fifty_distinct_ips(make_cluster):
    cluster = make_cluster()
    for node in ("node-1", "node-2", "node-3"):
        cluster.add_node(node)
    nodes = ["node-1", "node-2", "node-3"]
    placement = {f"p-{i:02d}": nodes[2] if i < 5 else nodes[i % 2] for i in range(50)}  # node-3 holds 5 IPs
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: cluster.add_pod(name, placement[name]), sorted(placement)))
        for _ in range(6):
            _parallel_step(cluster, pool)
    cluster.converge()
    held = {name: cluster.held_ip(name) for name in (f"p-{i:02d}" for i in range(50))}
    assert None not in held.values()
    assert len(set(held.values())) == 50
    claims = {n: cluster.claim(n).status.ip for n in held}
    assert claims == held
    pods_per_node = {n: len(a.holding) for n, a in cluster.agents.items()}
    assert pods_per_node == {n: list(placement.values()).count(n) for n in nodes} == \
        {"node-1": 22, "node-2": 23, "node-3": 5}
    for n in nodes:  # fewest ENIs: as many as the node's pods need at its IPs per ENI
        nec = cluster.nodes_nec(n)
        assert len(nec.status.enis) == -(-pods_per_node[n] // nec.spec.max_ip_per_eni), (n, nec.spec)
    assert cluster.violations == []


def test_churn_with_restarts_never_gives_one_ip_to_two_live_pods(make_cluster):
    cluster = make_cluster()
    nodes = ["node-1", "node-2"]
    for node in nodes:
        cluster.add_node(node)
    rng = random.Random(20261128)
    names = [f"s-{i}" for i in range(12)]
    ever: dict[str, set[str]] = {}
    for round_no in range(30):
        live = cluster.live_pods()
        for name in rng.sample(names, 4):
            if ("default", name) in live:
                cluster.delete_pod(name)
            else:
                cluster.add_pod(name, rng.choice(nodes), annotations=NEVER if int(name[2:]) % 2 else {})
        if round_no % 7 == 3:
            cluster.restart()
        for _ in range(rng.randint(1, 3)):
            cluster.step()
        for agent in cluster.agents.values():
            for ip, who in agent.holding.items():
                ever.setdefault(who[1], set()).add(ip)
    cluster.converge(rounds=40)
    assert cluster.violations == []
    for name, ips in ever.items():
        if int(name[2:]) % 2:
            assert len(ips) == 1, (name, ips)  # Never: always the same IP
    live = cluster.live_pods()
    assert all(cluster.held_ip(name) for _, name in live)
    vips = cluster.vpc_ips()
    assert set(vips) == cluster.cloud_ips()  # nothing leaked, nothing unrecorded
    assert cluster.emulator.calls.count("MigratePrivateIpAddress") >= 1  # retained IPs did change nodes

