"""The pod path against the real kernel: veth into a pod namespace, traffic through the ENI's table."""

from __future__ import annotations

import errno
from ipaddress import IPv4Address
from typing import Any

import pytest

from eni.netlink.errors import NamespaceNotFound, NetlinkError


def test_setup_pod_traffic_leaves_through_the_eni_table_and_comes_back(node: Any) -> None:
    pod = node.new_pod_ns()
    spec = node.pod_spec("10.20.0.10", host_ifname="vethpod10", netns_path=pod.path)
    result = node.network.setup_pod(spec)
    node.pair.route_to_pod(spec.ip, node.pair.enis[0])

    assert result.ip == spec.ip and result.container_ifname == "eth0"
    assert f"link/ether {result.container_mac}" in pod.ip("link", "show", "eth0")
    assert "10.20.0.10/32" in pod.ip("-4", "addr", "show", "eth0")
    assert pod.ping(node.pair.remote_ip), "pod cannot reach a VPC address outside its subnet"
    assert pod.ping(node.eni_spec.gateway), "pod cannot reach its subnet gateway"
    assert node.pair.peer.ping(spec.ip), "the VPC cannot reach the pod"

    # Without the pod's `from` rule the node has no route to the remote VPC address: the ENI table carried it.
    node.pair.node.ip("rule", "del", "from", str(spec.ip), "priority", "1536")
    assert not pod.ping(node.pair.remote_ip, timeout=0.5)


def test_setup_twice_gives_the_same_result_and_check_is_healthy(node: Any) -> None:
    pod = node.new_pod_ns()
    spec = node.pod_spec("10.20.0.11", host_ifname="vethpod11", netns_path=pod.path, mtu=1400)
    first = node.network.setup_pod(spec)
    assert node.network.setup_pod(spec) == first
    assert node.network.check_pod(spec) == []
    assert "mtu 1400" in pod.ip("link", "show", "eth0")
    # One queue each way on both ends, not one per possible CPU.
    assert "numtxqueues 1 numrxqueues 1" in pod.ip("-d", "link", "show", "eth0")
    assert "numtxqueues 1 numrxqueues 1" in node.pair.node.ip("-d", "link", "show", "vethpod11")


def test_check_reports_a_deleted_route_and_setup_repairs_it(node: Any) -> None:
    pod = node.new_pod_ns()
    spec = node.pod_spec("10.20.0.12", host_ifname="vethpod12", netns_path=pod.path)
    node.network.setup_pod(spec)
    node.pair.node.ip("route", "del", "10.20.0.12/32")
    pod.ip("route", "del", "default")

    problems = node.network.check_pod(spec)

    assert any("route 10.20.0.12/32" in p for p in problems), problems
    assert any("default route" in p for p in problems), problems
    node.network.setup_pod(spec)
    assert node.network.check_pod(spec) == []


def test_teardown_twice_and_after_the_namespace_is_gone(node: Any, netns_factory: Any) -> None:
    pod = node.new_pod_ns()
    spec = node.pod_spec("10.20.0.13", host_ifname="vethpod13", netns_path=pod.path)
    node.network.setup_pod(spec)

    node.network.teardown_pod(host_ifname="vethpod13", ip=spec.ip, netns_path=pod.path)
    node.network.teardown_pod(host_ifname="vethpod13", ip=spec.ip, netns_path=pod.path)

    assert "vethpod13" not in node.pair.node.ip("link")
    assert "10.20.0.13" not in node.pair.node.ip("rule") + node.pair.node.ip("route")
    assert "eth0" not in pod.ip("link")

    other = node.new_pod_ns()
    spec2 = node.pod_spec("10.20.0.14", host_ifname="vethpod14", netns_path=other.path)
    node.network.setup_pod(spec2)
    netns_factory.delete(other)
    node.network.teardown_pod(host_ifname="vethpod14", ip=spec2.ip, netns_path=other.path)
    assert "10.20.0.14" not in node.pair.node.ip("rule") + node.pair.node.ip("route")
    assert node.network.list_pod_rules() == []


def _link_names(ns: Any) -> list[str]:
    return sorted(line.split(":")[1].strip().split("@")[0] for line in ns.ip("-o", "link").splitlines())


def _node_state(node: Any) -> tuple[list[str], str, str]:
    """Link names, rules and routes of the node (not link states, which settle on their own)."""
    return _link_names(node.pair.node), node.pair.node.ip("rule"), node.pair.node.ip("route", "show", "table", "all")


def test_missing_namespace_and_taken_interface_change_nothing(node: Any) -> None:
    before = _node_state(node)
    with pytest.raises(NamespaceNotFound):
        node.network.setup_pod(node.pod_spec("10.20.0.15", host_ifname="vethpod15", netns_path="/run/netns/nope"))

    pod = node.new_pod_ns()
    pod.ip("link", "add", "eth0", "type", "veth", "peer", "name", "other0")
    with pytest.raises(NetlinkError) as e:
        node.network.setup_pod(node.pod_spec("10.20.0.15", host_ifname="vethpod15", netns_path=pod.path))
    assert e.value.errno == errno.EEXIST and "eth0 already exists in the pod" in str(e.value)
    assert _node_state(node) == before
    assert _link_names(pod) == ["eth0", "lo", "other0"] and "10.20.0.15" not in pod.ip("addr")


def test_teardown_refuses_to_delete_a_link_that_is_not_a_veth(node: Any) -> None:
    node.network.teardown_pod(host_ifname="lo", ip=IPv4Address("10.20.0.99"), netns_path=None)
    assert "lo:" in node.pair.node.ip("link", "show", "lo")
