"""Fixtures for the netlink netns tests: a node with one ENI, a PyrouteNetwork bound to it, pod specs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

import pytest

from eni.netlink.pyroute import PyrouteNetwork
from eni.netlink.types import EniSpec, EniState, PodNetSpec


@dataclass
class Node:
    """A node namespace with one synced ENI, its PyrouteNetwork, and the VPC peer behind it."""

    pair: Any
    network: PyrouteNetwork
    eni: EniState
    eni_spec: EniSpec
    new_pod_ns: Callable[[], Any]

    def pod_spec(self, ip: str, *, host_ifname: str, netns_path: str, **kwargs: Any) -> PodNetSpec:
        return PodNetSpec(netns_path=netns_path, container_ifname="eth0", host_ifname=host_ifname,
                          ip=IPv4Address(ip), eni_table=self.eni.table, **kwargs)


@pytest.fixture
def node(node_vpc_pair: Callable[..., Any], netns_factory: Any) -> Iterator[Node]:
    pair = node_vpc_pair(eni_mac="02:00:0a:14:00:05", subnet="10.20.0.0/24")
    eni = pair.enis[0]
    spec = EniSpec(mac=eni.mac, primary_ip=eni.primary_ip, subnet=eni.subnet, gateway=eni.gateway)
    with PyrouteNetwork(pair.node.name) as network:
        network.enforce_sysctls([eni.ifname])
        [state] = network.sync_enis([spec])
        yield Node(pair, network, state, spec, lambda: netns_factory("pod"))


def _host_marks() -> tuple[str, str]:
    """Our rules and routes in the host's own namespace (there must never be any of ours there)."""
    import subprocess

    def show(*argv: str) -> str:
        out = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=10, check=True).stdout
        return "\n".join(line for line in out.splitlines() if "proto 177" in line)

    return show("-4", "rule"), show("-4", "route", "show", "table", "all")


@pytest.fixture(autouse=True)
def _host_namespace_untouched(_needs_root_and_iproute2: None) -> Iterator[None]:
    before = _host_marks()
    yield
    assert _host_marks() == before, "a test changed the host's own network namespace"
