"""Namespace handling: threads always come back, concurrent set-ups are safe, None means the process's ns."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from eni.netlink.errors import NamespaceNotFound
from eni.netlink.namespace import entered, same_netns, setns
from eni.netlink.pyroute import PyrouteNetwork


def test_entered_switches_back_even_when_the_body_fails(netns_factory: Any) -> None:
    ns = netns_factory("enter")
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        with pytest.raises(RuntimeError), entered(fd, op="test"):
            assert same_netns(fd) and not same_netns(home)
            raise RuntimeError("boom")
        assert same_netns(home) and not same_netns(fd)
    finally:
        os.close(fd)
        os.close(home)


def test_nested_entered_returns_to_the_enclosing_namespace_then_home(netns_factory: Any) -> None:
    outer_fd = os.open(netns_factory("outer").path, os.O_RDONLY)
    inner_fd = os.open(netns_factory("inner").path, os.O_RDONLY)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        for _ in range(2):  # NB: the second round uses the descriptor of home kept from the first
            with entered(outer_fd, op="test"):
                with entered(inner_fd, op="test"):
                    assert same_netns(inner_fd)
                assert same_netns(outer_fd)
            assert same_netns(home)
    finally:
        for fd in (outer_fd, inner_fd, home):
            os.close(fd)


def test_a_thread_that_moved_for_good_comes_back_to_where_it_moved(netns_factory: Any) -> None:
    node_fd = os.open(netns_factory("moved").path, os.O_RDONLY)
    pod_fd = os.open(netns_factory("podns").path, os.O_RDONLY)

    def work() -> tuple[bool, bool]:
        with entered(pod_fd, op="test"):
            pass  # NB: the thread's own namespace is known from here on
        setns(node_fd)  # like the node executor's threads
        with entered(pod_fd, op="test"):
            inside = same_netns(pod_fd)
        return inside, same_netns(node_fd)

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(work).result() == (True, True)
    finally:
        os.close(node_fd)
        os.close(pod_fd)


def test_the_kept_descriptor_of_home_is_closed_when_its_thread_ends(netns_factory: Any) -> None:
    fd = os.open(netns_factory("fdleak").path, os.O_RDONLY)

    def enter_once() -> None:
        with entered(fd, op="test"):
            pass

    try:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(5):
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(enter_once).result()
        assert len(os.listdir("/proc/self/fd")) <= before
    finally:
        os.close(fd)


def test_unknown_node_namespace_is_a_clear_error() -> None:
    with pytest.raises(NamespaceNotFound, match="not found"):
        PyrouteNetwork("no-such-node-ns")


def test_concurrent_setups_and_teardowns(node: Any) -> None:
    pods = [node.new_pod_ns() for _ in range(8)]
    specs = [node.pod_spec(f"10.20.0.{40 + i}", host_ifname=f"vethc{i}", netns_path=p.path) for i, p in enumerate(pods)]
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(node.network.setup_pod, specs))
            assert [r.ip for r in results] == [s.ip for s in specs]
            assert list(pool.map(node.network.check_pod, specs)) == [[]] * len(specs)
            list(pool.map(lambda s: node.network.teardown_pod(host_ifname=s.host_ifname, ip=s.ip,
                                                              netns_path=s.netns_path), specs))
        assert same_netns(home)
    finally:
        os.close(home)
    assert node.network.list_pod_rules() == []
    assert "vethc" not in node.pair.node.ip("link")


def test_none_means_the_namespace_the_process_runs_in(node_vpc_pair: Any) -> None:
    pair = node_vpc_pair()
    eni = pair.enis[0]
    script = (
        "import ipaddress as a\n"
        "from eni.netlink.pyroute import PyrouteNetwork\n"
        "from eni.netlink.types import EniSpec\n"
        "with PyrouteNetwork() as n:\n"
        f"    print(n.sync_enis([EniSpec('{eni.mac}', a.IPv4Address('{eni.primary_ip}'),"
        f" a.IPv4Network('{eni.subnet}'), a.IPv4Address('{eni.gateway}'))])[0].table)\n"
    )
    out = pair.node.run(sys.executable, "-c", script, timeout=60).stdout.strip()
    assert f"from {eni.primary_ip} lookup {out} proto 177" in pair.node.ip("rule")
    assert subprocess.run(["ip", "rule"], capture_output=True, text=True, check=True).stdout.count(
        str(eni.primary_ip)) == 0
