"""The simulated VPC delivers an address to a node only while the emulator has it assigned to that node's ENI."""

from __future__ import annotations

from eni.sim.iproute import ip_in, list_netns
from eni.sim.probe import ping, ping_until

ZONE_A, ZONE_B = "ap-guangzhou-3", "ap-guangzhou-4"


def _ifname_with_mac(netns: str, mac: str) -> str:
    for line in ip_in(netns, "-o", "link", "show").splitlines():
        if mac.lower() in line.lower():
            return line.split(":", 2)[1].strip().split("@")[0]
    raise AssertionError(f"no link with MAC {mac} in {netns}")


def test_nodes_get_eth0_with_the_instance_mac_and_reach_each_other_across_zones(sim_vpc):
    a = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    b = sim_vpc.add_node(ZONE_B, "subnet-gz4a0003")
    assert _ifname_with_mac(a.netns, a.mac) == "eth0"
    assert f"inet {b.primary_ip}/24" in ip_in(b.netns, "addr", "show", "dev", "eth0")
    assert ping_until(a.netns, str(b.primary_ip)) is not None
    assert ping_until(b.netns, str(a.primary_ip)) is not None
    assert ping_until(a.netns, str(a.gateway)) is not None


def test_an_assigned_ip_is_reachable_and_stops_being_reachable_once_unassigned(sim_vpc):
    a = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    b = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    eni = sim_vpc.vpc.create_eni(intent="t1", subnet_id="subnet-gz3a0001", name="pod-eni")
    sim_vpc.vpc.attach_eni(eni.id, b.instance_id)
    (ip,) = sim_vpc.vpc.assign_private_ips(eni.id, intent="t1-ip", count=1)
    assert sim_vpc.emu.wait_tasks(5.0)

    eth = _ifname_with_mac(b.netns, eni.mac)
    assert eth == "eth1"
    ip_in(b.netns, "addr", "add", f"{ip.address}/32", "dev", eth)
    # An address the node holds but the cloud never assigned to it: the VPC must not deliver it.
    ip_in(b.netns, "addr", "add", "10.0.1.250/32", "dev", eth)
    assert sim_vpc.plane.routed_ips()[ip.address] == sim_vpc.names.router_link(eni.id)

    assert ping_until(a.netns, ip.address) is not None
    assert ping(a.netns, "10.0.1.250", timeout=0.5) is None

    sim_vpc.vpc.unassign_private_ips(eni.id, [ip.address])
    assert sim_vpc.emu.wait_tasks(5.0)
    assert ip.address not in sim_vpc.plane.routed_ips()
    assert ping(a.netns, ip.address, timeout=0.5) is None


def test_detach_removes_the_eni_link_and_its_routes(sim_vpc):
    b = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    eni = sim_vpc.vpc.create_eni(intent="t2", subnet_id="subnet-gz3a0001", name="pod-eni", secondary_ip_count=2)
    sim_vpc.vpc.attach_eni(eni.id, b.instance_id)
    assert sim_vpc.emu.wait_tasks(5.0)
    addresses = {p.address for p in eni.private_ips}
    assert addresses <= set(sim_vpc.plane.routed_ips())

    sim_vpc.vpc.detach_eni(eni.id, b.instance_id)
    assert sim_vpc.emu.wait_tasks(5.0)
    assert eni.mac.lower() not in ip_in(b.netns, "-o", "link", "show").lower()
    assert not addresses & set(sim_vpc.plane.routed_ips())


def test_every_namespace_carries_the_cluster_prefix(sim_vpc):
    sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    mine = [ns for ns in list_netns() if sim_vpc.names.owns(ns)]
    assert sorted(mine) == sorted([sim_vpc.names.router, sim_vpc.nodes[0].netns])


def test_the_router_answers_arp_for_other_vpc_addresses_without_delay(sim_vpc):
    a = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    b = sim_vpc.add_node(ZONE_A, "subnet-gz3a0001")
    # Same subnet: a resolves b's address on eth0 and the router answers by proxy ARP (whose default
    # random delay of up to 0.8 s would show in at least one of these fresh resolutions).
    for _ in range(4):
        ip_in(a.netns, "neigh", "flush", "dev", "eth0")
        rtt = ping_until(a.netns, str(b.primary_ip), attempts=1, timeout=2.0)
        assert rtt is not None and rtt < 0.2
