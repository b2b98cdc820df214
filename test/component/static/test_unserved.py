"""A static pod that cannot get an IP on its node (the VPC's ENI quota is used up and the node's ENIs are
full) gets a Warning Event with the reason, and no address is ever given to two pods."""

from __future__ import annotations

import dataclasses

from eni.cloud.emulator import World
from eni.cloud.emulator.world import Quotas
from eni.controllers import events


def test_pods_beyond_the_eni_quota_get_an_eni_limit_warning_and_nothing_twice(make_cluster):
    # The VPC may hold 4 ENIs: the 3 instances' primaries and one secondary ENI.
    cluster = make_cluster(world=dataclasses.replace(World.default(), quotas=Quotas(vpc_enis=4)))
    cluster.add_node("node-1")
    names = [f"db-{i}" for i in range(40)]
    for name in names:
        cluster.add_pod(name, "node-1")
    cluster.converge()

    held = {name: cluster.held_ip(name) for name in names}
    served = {name: ip for name, ip in held.items() if ip}
    unserved = sorted(name for name, ip in held.items() if not ip)
    assert served and unserved, held
    assert len(set(served.values())) == len(served)
    assert len(cluster.nodes_nec("node-1").status.enis) == 1
    warned = {e["involvedObject"]["name"] for e in cluster.events(events.ENI_LIMIT) if e["type"] == "Warning"}
    assert set(unserved) <= warned
    assert not warned & set(served)
    for name in unserved:
        assert events.ENI_LIMIT in cluster.claim(name).status.message
    assert cluster.violations == []

    # Freeing one pod's IP lets exactly one waiting pod in, on the same ENI.
    cluster.delete_pod(sorted(served)[0])
    cluster.converge()
    again = {name: cluster.held_ip(name) for name in unserved}
    assert sum(1 for ip in again.values() if ip) == 1
    assert cluster.violations == []
