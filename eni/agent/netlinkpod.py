"""Adapts the netlink layer's ``PodNetwork`` to the agent's ``PodNetworker`` seam.

Why: the service speaks in ``PodSetup``/``PodInterfaces``; the netlink layer in ``PodNetSpec``/``PodNetResult``.
Converting here keeps the service testable without the netlink package and lets either side evolve.
Must never: catch errors (the service maps them), or import a concrete netlink implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Protocol

from eni.agent.podnet import PodInterfaces, PodSetup
from eni.netlink.interfaces import NodeNetwork, PodNetwork
from eni.netlink.types import PodNetSpec

__all__ = ["NetlinkPodNetworker", "NodeAndPodNetwork"]


class NodeAndPodNetwork(PodNetwork, NodeNetwork, Protocol):
    """What the adapter needs: pod plumbing plus the node's per-pod rules (for veths of other plugins)."""


class NetlinkPodNetworker:
    """``PodNetworker`` over the netlink layer: PyrouteNetwork or FakeNetwork (both protocols in one object)."""

    def __init__(self, network: NodeAndPodNetwork) -> None:
        self._network = network

    def setup(self, spec: PodSetup) -> PodInterfaces:
        result = self._network.setup_pod(_spec(spec))
        return PodInterfaces(host_ifname=result.host_ifname, host_mac=result.host_mac,
                             container_ifname=result.container_ifname, container_mac=result.container_mac)

    def teardown(self, *, host_ifname: str, ip: IPv4Address, netns_path: str) -> None:
        self._network.teardown_pod(host_ifname=host_ifname, ip=ip, netns_path=netns_path or None)

    def remove_routes(self, *, ip: IPv4Address) -> None:
        self._network.remove_pod_routes(ip=ip)

    def delete_link(self, *, host_ifname: str) -> None:
        self._network.delete_host_veth(host_ifname=host_ifname)

    def ensure_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        self._network.ensure_pod_rules(rules)

    def check(self, spec: PodSetup) -> list[str]:
        return self._network.check_pod(_spec(spec))


def _spec(spec: PodSetup) -> PodNetSpec:
    return PodNetSpec(netns_path=spec.netns_path, container_ifname=spec.container_ifname,
                      host_ifname=spec.host_ifname, ip=spec.ip, eni_table=spec.eni_table, mtu=spec.mtu,
                      gateway=spec.gateway)
