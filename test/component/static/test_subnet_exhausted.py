"""A static pod whose zone's subnets have no free address left gets a ``SubnetExhausted`` Warning Event and
the reason on its claim; the addresses that exist go to one pod each, and a freed one goes to exactly one
waiting pod."""

from __future__ import annotations

import dataclasses
import ipaddress

from eni.cloud.emulator import World
from eni.controllers import events

_ZONE = "ap-guangzhou-3"


def _tiny_zone_world() -> World:
    """Zone -3's two subnets shrunk to /28: 13 usable addresses each, some taken by ENI primary IPs."""
    base = World.default()
    small = {"subnet-gz3a0001": "10.0.1.0/28", "subnet-gz3b0002": "10.0.2.0/28"}
    subnets = tuple(dataclasses.replace(s, cidr=small.get(s.subnet_id, s.cidr)) for s in base.subnets)
    return dataclasses.replace(base, subnets=subnets)


def test_pods_beyond_the_subnets_get_a_subnet_exhausted_warning_and_nothing_twice(make_cluster):
    world = _tiny_zone_world()
    cluster = make_cluster(world=world)
    cluster.add_node("node-2")  # S5.2XLARGE16: 6 ENIs x 20 IPs, far more than the subnets hold
    names = [f"db-{i}" for i in range(30)]
    for name in names:
        cluster.add_pod(name, "node-2")
    cluster.converge()

    held = {name: cluster.held_ip(name) for name in names}
    served = {name: ip for name, ip in held.items() if ip}
    unserved = sorted(name for name, ip in held.items() if not ip)
    assert served and unserved, held
    assert len(set(served.values())) == len(served)
    zone_nets = [ipaddress.ip_network(s.cidr) for s in world.subnets if s.zone == _ZONE]
    assert all(any(ipaddress.ip_address(ip) in net for net in zone_nets) for ip in served.values())
    warned = {e["involvedObject"]["name"] for e in cluster.events(events.SUBNET_EXHAUSTED) if e["type"] == "Warning"}
    assert set(unserved) <= warned
    assert not warned & set(served)
    for name in unserved:
        claim = cluster.claim(name)
        assert claim is not None and not claim.status.ip
        assert events.SUBNET_EXHAUSTED in claim.status.message
    assert cluster.violations == []

    # Within the exhaustion back-off a freed address is not asked for again ...
    cluster.delete_pod(sorted(served)[0])
    cluster.converge()
    assert not any(cluster.held_ip(name) for name in unserved)
    # ... after it, exactly one waiting pod gets it; still nothing held twice.
    cluster.clock.step(61)
    cluster.converge()
    again = {name: cluster.held_ip(name) for name in unserved}
    assert sum(1 for ip in again.values() if ip) == 1
    assert cluster.violations == []
    holding = [ip for ip in (cluster.held_ip(name) for name in names) if ip]
    assert len(set(holding)) == len(holding) == len(served)
