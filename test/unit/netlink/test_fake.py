"""FakeNetwork behaves like the kernel implementation: same idempotency, errors, ownership rules."""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv4Network

import pytest

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.fake import MAIN_TABLE, FakeNetwork, FakeRoute, FakeRule
from eni.netlink.interfaces import NodeNetwork, PodNetwork
from eni.netlink.types import EniSpec, PodNetSpec

ENI = EniSpec("02:00:00:00:00:0a", IPv4Address("10.0.0.2"), IPv4Network("10.0.0.0/24"), IPv4Address("10.0.0.1"))


@pytest.fixture
def net() -> FakeNetwork:
    fake = FakeNetwork()
    fake.add_eni(ENI.mac, ifname="eth1")
    return fake


def spec(net: FakeNetwork, n: int, *, table: int | None = None) -> PodNetSpec:
    path = f"/run/netns/pod{n}"
    net.add_namespace(path)
    [state] = net.sync_enis([ENI])
    return PodNetSpec(netns_path=path, container_ifname="eth0", host_ifname=f"veth{n}",
                      ip=IPv4Address(f"10.0.0.{10 + n}"), eni_table=table or state.table)


def test_conforms_to_both_protocols() -> None:
    pod: PodNetwork = FakeNetwork()
    node: NodeNetwork = FakeNetwork()
    assert pod is not node


def test_sync_enis_uses_index_plus_2000_and_skips_absent_enis(net: FakeNetwork) -> None:
    absent = EniSpec("02:00:00:00:00:0b", IPv4Address("10.0.1.2"), IPv4Network("10.0.1.0/24"),
                     IPv4Address("10.0.1.1"))
    [state] = net.sync_enis([absent, ENI])
    link = net.node.links["eth1"]
    assert state.table == link.index + 2000 and state.ifname == "eth1" and link.up
    assert FakeRoute(state.table, IPv4Network("0.0.0.0/0"), "eth1", ENI.gateway, 177) in net.node.routes
    assert net.sync_enis([ENI]) == [state]


def test_setup_is_idempotent_and_builds_both_sides(net: FakeNetwork) -> None:
    s = spec(net, 1)
    first = net.setup_pod(s)
    assert net.setup_pod(s) == first
    pod = net.namespaces[s.netns_path]
    assert pod.links["eth0"].addresses == {(s.ip, 32)} and pod.neighbours[("eth0", s.gateway)] == first.host_mac
    assert net.list_pod_rules() == [(s.ip, s.eni_table)]
    assert net.check_pod(s) == []


def test_check_reports_drift_and_setup_repairs_it(net: FakeNetwork) -> None:
    s = spec(net, 2)
    net.setup_pod(s)
    net.node.routes = {r for r in net.node.routes if r.dst != IPv4Network(f"{s.ip}/32")}
    assert net.check_pod(s) == [f"route {s.ip}/32 dev veth2 missing from the main table"]
    net.setup_pod(s)
    assert net.check_pod(s) == []


def test_teardown_twice_and_after_the_namespace_is_gone(net: FakeNetwork) -> None:
    s = spec(net, 3)
    net.setup_pod(s)
    net.teardown_pod(host_ifname="veth3", ip=s.ip, netns_path=s.netns_path)
    net.teardown_pod(host_ifname="veth3", ip=s.ip, netns_path=s.netns_path)
    assert "veth3" not in net.node.links and "eth0" not in net.namespaces[s.netns_path].links
    s4 = spec(net, 4)
    net.setup_pod(s4)
    net.delete_namespace(s4.netns_path)
    assert "veth4" not in net.node.links  # the veth died with the namespace
    assert net.check_pod(s4)[-1] == f"pod network namespace {s4.netns_path} not found"
    net.teardown_pod(host_ifname="veth4", ip=s4.ip, netns_path=s4.netns_path)
    assert net.list_pod_rules() == []


def test_errors_change_nothing(net: FakeNetwork) -> None:
    s = spec(net, 5)
    with pytest.raises(NamespaceNotFound):
        net.setup_pod(PodNetSpec(netns_path="/run/netns/none", container_ifname="eth0", host_ifname="veth5",
                                 ip=s.ip, eni_table=s.eni_table))
    net.namespaces[s.netns_path].add_link("eth0", "02:00:00:00:00:99", kind="veth")
    with pytest.raises(NetlinkError) as taken:
        net.setup_pod(s)
    assert taken.value.errno == errno.EEXIST
    net.fail_next("setup_pod", NetlinkError("ip link add veth6", errno.ENOMEM))
    with pytest.raises(NetlinkError, match="Cannot allocate memory"):
        net.setup_pod(spec(net, 6))
    assert "veth5" not in net.node.links and "veth6" not in net.node.links and net.list_pod_rules() == []
    net.teardown_pod(host_ifname="eth1", ip=s.ip, netns_path=None)
    assert "eth1" in net.node.links  # not a veth: never deleted


def test_enforce_sysctls(net: FakeNetwork) -> None:
    with pytest.raises(LinkNotFound, match="nosuch"):
        net.enforce_sysctls(["eth1", "nosuch"])
    assert net.node.sysctls["ip_forward"] == "1" and net.node.sysctls["conf/eth1/rp_filter"] == "0"
    with pytest.raises(ValueError):
        net.enforce_sysctls(["../x"])


def test_remove_stale_keeps_foreign_and_kept_state(net: FakeNetwork) -> None:
    kept, dropped = spec(net, 7), spec(net, 8)
    net.setup_pod(kept)
    net.setup_pod(dropped)
    foreign_rule = FakeRule(1536, kept.eni_table, src=IPv4Address("10.9.9.9"))
    foreign_route = FakeRoute(MAIN_TABLE, IPv4Network("10.9.9.9/32"), "eth1")
    net.node.add_rule(foreign_rule)
    net.node.routes.add(foreign_route)

    assert net.remove_stale(keep_pod_ips=[kept.ip], keep_tables=[kept.eni_table]) == 3
    assert net.list_pod_rules() == [(kept.ip, kept.eni_table)]
    assert net.remove_stale(keep_pod_ips=[kept.ip], keep_tables=[]) == 4  # ENI rule, 2 ENI routes, pod rule
    assert foreign_rule in net.node.rules and foreign_route in net.node.routes


def test_concurrent_setups(net: FakeNetwork) -> None:
    specs = [spec(net, n) for n in range(10, 30)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(net.setup_pod, specs))
    assert len({r.host_mac for r in results}) == len(specs)
    assert sorted(ip for ip, _ in net.list_pod_rules()) == sorted(s.ip for s in specs)
