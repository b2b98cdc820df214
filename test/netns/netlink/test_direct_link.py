"""Exclusive ENIs in the real kernel: a veth "ENI" of a node namespace moved into a pod namespace and back."""

from __future__ import annotations

import os
from ipaddress import IPv4Interface

import pytest

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.pyroute.directlink import PyrouteDirectLinks
from eni.netlink.types import DirectEniSpec

# NB: random per test process: the agent finds stranded exclusive ENIs by scanning every namespace in
# /run/netns, which tests running in parallel share, so a fixed MAC would match another test's link.
MAC = "02:5e:" + ":".join(f"{b:02x}" for b in os.urandom(4))


@pytest.fixture
def direct(node_vpc_pair, netns_factory):
    pair = node_vpc_pair(eni_mac=MAC, subnet="10.21.0.0/24")
    links = PyrouteDirectLinks(pair.node.name)
    try:
        yield pair, links, netns_factory
    finally:
        links.close()


def spec_for(pair, pod, *, ifname="eth0"):
    eni = pair.enis[0]
    return DirectEniSpec(mac=MAC, netns_path=pod.path, ifname=ifname,
                         address=IPv4Interface(f"{eni.primary_ip}/{eni.subnet.prefixlen}"), gateway=eni.gateway)


def test_the_eni_moves_into_the_pod_reaches_the_vpc_and_comes_back(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    assert links.node_links()[MAC] == "eni0"

    result = links.attach_direct(spec_for(pair, pod))

    assert (result.ifname, result.mac) == ("eth0", MAC)
    assert MAC not in links.node_links()
    assert "eni0" not in pair.node.ip("link", "show")
    shown = pod.ip("-4", "addr", "show", "dev", "eth0")
    assert f"{pair.enis[0].primary_ip}/24" in shown and MAC in pod.ip("link", "show", "dev", "eth0")
    assert f"default via {pair.enis[0].gateway} dev eth0" in pod.ip("route", "show")
    assert pod.ping(pair.remote_ip)
    assert links.check_direct(spec_for(pair, pod)) == []

    assert links.detach_direct(mac=MAC, netns_path=pod.path, node_ifname="eni0") is True

    assert links.node_links()[MAC] == "eni0"
    node_side = pair.node.ip("-4", "addr", "show", "dev", "eni0")
    assert "inet " not in node_side and "state DOWN" in pair.node.ip("link", "show", "dev", "eni0")
    assert "eth0" not in pod.ip("link", "show")


def test_attach_and_detach_are_idempotent(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    spec = spec_for(pair, pod)
    links.attach_direct(spec)
    links.attach_direct(spec)
    assert links.check_direct(spec) == []
    assert links.detach_direct(mac=MAC, netns_path=pod.path, node_ifname="eni0") is True
    assert links.detach_direct(mac=MAC, netns_path=pod.path, node_ifname="eni0") is True
    assert links.node_links()[MAC] == "eni0"


def test_check_names_a_removed_route_and_a_missing_link(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    spec = spec_for(pair, pod)
    links.attach_direct(spec)
    pod.ip("route", "del", "default")
    assert links.check_direct(spec) == [f"default route via {pair.enis[0].gateway} dev eth0 missing in the pod"]
    other = netns_factory("pod")
    assert links.check_direct(spec_for(pair, other)) == ["eth0 not found in the pod namespace"]
    links.detach_direct(mac=MAC, netns_path=pod.path, node_ifname="eni0")


def test_a_taken_pod_ifname_is_refused_and_nothing_moves(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    pod.ip("link", "add", "eth0", "type", "veth", "peer", "name", "other0")
    with pytest.raises(NetlinkError) as caught:
        links.attach_direct(spec_for(pair, pod))
    assert caught.value.errno == 17
    assert links.node_links()[MAC] == "eni0"


def test_a_gone_pod_namespace_and_an_unknown_mac_are_clear_errors(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    gone = spec_for(pair, pod)
    netns_factory.delete(pod)
    with pytest.raises(NamespaceNotFound):
        links.attach_direct(gone)
    other = netns_factory("pod")
    unknown = DirectEniSpec(mac="02:00:00:00:99:99", netns_path=other.path, ifname="eth0",
                            address=IPv4Interface("10.21.0.9/24"), gateway=pair.enis[0].gateway)
    with pytest.raises(LinkNotFound):
        links.attach_direct(unknown)
    assert links.detach_direct(mac="02:00:00:00:99:99", netns_path=other.path, node_ifname="eni9") is False


def test_a_stranded_eni_is_found_in_its_namespace_and_brought_back_under_its_own_name(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    links.attach_direct(spec_for(pair, pod))
    assert links.find_direct([MAC, "02:00:00:00:99:99"]) == {MAC: pod.path}
    assert links.detach_direct(mac=MAC, netns_path=links.find_direct([MAC])[MAC], node_ifname="eni0")
    assert links.find_direct([MAC]) == {}
    assert links.node_links()[MAC] == "eni0"


def test_a_link_left_in_the_node_under_another_name_is_parked(direct):
    pair, links, netns_factory = direct
    pair.node.ip("link", "set", "eni0", "name", "dev7")
    pair.node.ip("addr", "add", "10.21.0.50/24", "dev", "dev7")
    pair.node.ip("link", "set", "dev7", "up")
    assert links.detach_direct(mac=MAC, netns_path=None, node_ifname="eni0") is True
    assert links.node_links()[MAC] == "eni0"
    assert "inet " not in pair.node.ip("-4", "addr", "show", "dev", "eni0")


def test_moving_back_when_the_names_are_taken_keeps_the_eni_under_another_name(direct):
    pair, links, netns_factory = direct
    pod = netns_factory("pod")
    links.attach_direct(spec_for(pair, pod))
    pair.node.ip("link", "add", "eni0", "type", "veth", "peer", "name", "eth0")  # both names taken on the node
    assert links.detach_direct(mac=MAC, netns_path=pod.path, node_ifname="eni0") is True
    name = links.node_links()[MAC]
    assert name not in ("eni0", "eth0") and "state DOWN" in pair.node.ip("link", "show", "dev", name)
    assert "eth0" not in pod.ip("link", "show")
    pair.node.ip("link", "del", "eni0")
    assert links.detach_direct(mac=MAC, netns_path=None, node_ifname="eni0") is True
    assert links.node_links()[MAC] == "eni0"
