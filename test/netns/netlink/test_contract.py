"""The same scenarios against the kernel (PyrouteNetwork) and the in-memory FakeNetwork: same answers.

This is what lets other packages trust FakeNetwork in their unit tests.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from eni.netlink.errors import NetlinkError
from eni.netlink.fake import FakeNetwork
from eni.netlink.types import EniSpec, PodNetSpec


@dataclass
class Subject:
    """One implementation plus the few test-only actions each needs its own way."""

    network: Any
    table: int
    new_pod: Callable[[], str]
    delete_pod: Callable[[str, str], None]
    """Delete the pod namespace and wait until its veth is gone (the kernel cleans up asynchronously)."""
    drop_host_route: Callable[[IPv4Address], None]
    take_name_in_pod: Callable[[str, str], None]


@pytest.fixture(params=["kernel", "fake"])
def subject(request: pytest.FixtureRequest, node: Any, netns_factory: Any) -> Iterator[Subject]:
    if request.param == "kernel":
        pods: dict[str, Any] = {}

        def new_pod() -> str:
            ns = netns_factory("pod")
            pods[ns.path] = ns
            return str(ns.path)

        def delete_pod(path: str, host: str) -> None:
            netns_factory.delete(pods[path])
            deadline = time.monotonic() + 10
            while host in node.pair.node.ip("-o", "link") and time.monotonic() < deadline:
                time.sleep(0.02)

        yield Subject(
            node.network, node.eni.table, new_pod, delete_pod,
            lambda ip: node.pair.node.ip("route", "del", f"{ip}/32"),
            lambda path, name: pods[path].ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p"),
        )
        return
    fake = FakeNetwork()
    fake.add_eni(node.eni_spec.mac)
    [state] = fake.sync_enis([node.eni_spec])
    counter = iter(range(1000))

    def new_fake_pod() -> str:
        return fake.add_namespace(f"/run/netns/fake-pod-{next(counter)}").path

    def drop(ip: IPv4Address) -> None:
        fake.node.routes = {r for r in fake.node.routes if r.dst != IPv4Network(f"{ip}/32")}

    yield Subject(fake, state.table, new_fake_pod, lambda path, host: fake.delete_namespace(path), drop,
                  lambda path, name: fake.namespaces[path].add_link(name, "02:00:00:00:00:77", kind="veth") and None)


def _spec(subject: Subject, ip: str, host: str) -> PodNetSpec:
    return PodNetSpec(netns_path=subject.new_pod(), container_ifname="eth0", host_ifname=host,
                      ip=IPv4Address(ip), eni_table=subject.table)


def test_lifecycle_answers(subject: Subject) -> None:
    net = subject.network
    spec = _spec(subject, "10.20.0.50", "vethk50")
    first = net.setup_pod(spec)
    assert net.setup_pod(spec) == first and net.check_pod(spec) == []
    subject.drop_host_route(spec.ip)
    assert net.check_pod(spec) == ["route 10.20.0.50/32 dev vethk50 missing from the main table"]
    net.setup_pod(spec)
    assert net.check_pod(spec) == []
    assert net.list_pod_rules() == [(spec.ip, subject.table)]

    subject.delete_pod(spec.netns_path, "vethk50")
    assert net.check_pod(spec) == ["host veth vethk50 not found",
                                   f"pod network namespace {spec.netns_path} not found"]
    net.teardown_pod(host_ifname="vethk50", ip=spec.ip, netns_path=spec.netns_path)
    net.teardown_pod(host_ifname="vethk50", ip=spec.ip, netns_path=spec.netns_path)
    assert net.list_pod_rules() == []


def test_error_answers(subject: Subject) -> None:
    spec = _spec(subject, "10.20.0.51", "vethk51")
    subject.take_name_in_pod(spec.netns_path, "eth0")
    with pytest.raises(NetlinkError) as taken:
        subject.network.setup_pod(spec)
    assert taken.value.errno == errno.EEXIST
    assert subject.network.list_pod_rules() == []


def test_remove_stale_answers(subject: Subject) -> None:
    kept, dropped = _spec(subject, "10.20.0.52", "vethk52"), _spec(subject, "10.20.0.53", "vethk53")
    subject.network.setup_pod(kept)
    subject.network.setup_pod(dropped)
    assert subject.network.remove_stale(keep_pod_ips=[kept.ip], keep_tables=[subject.table]) == 3
    assert subject.network.remove_stale(keep_pod_ips=[kept.ip], keep_tables=[]) == 4
    assert subject.network.list_pod_rules() == []


def test_sync_answers(subject: Subject, node: Any) -> None:
    absent = EniSpec("02:00:0a:14:00:99", IPv4Address("10.20.9.2"), IPv4Network("10.20.9.0/24"),
                     IPv4Address("10.20.9.1"))
    [state] = subject.network.sync_enis([absent, node.eni_spec])
    assert state.table == subject.table and state.mac == node.eni_spec.mac
