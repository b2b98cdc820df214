"""The seam between the agent's service and the code that plumbs a pod's network namespace.

Why a seam of its own: the service decides *what* a pod gets (IP, ENI table, names, MTU); a
``PodNetworker`` makes it so in the kernel. The netlink layer's ``PodNetwork`` is adapted to this
Protocol by ``eni.agent.netlinkpod``; ``FakePodNetworker`` here is the in-memory double with real
behaviour (idempotent teardown, drift) that unit tests and the dev server use.

Must never: import a netlink library; allocate or release IPs (the ledger does).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

__all__ = ["FakePodNetworker", "PodInterfaces", "PodNetworker", "PodSetup", "host_ifname_for", "LINK_LOCAL_GATEWAY"]

LINK_LOCAL_GATEWAY = IPv4Address("169.254.1.1")


@dataclass(frozen=True, slots=True)
class PodSetup:
    """What one pod attachment must look like."""

    netns_path: str
    container_ifname: str
    host_ifname: str
    ip: IPv4Address
    eni_table: int
    mtu: int = 1500
    gateway: IPv4Address = LINK_LOCAL_GATEWAY


@dataclass(frozen=True, slots=True)
class PodInterfaces:
    """The interfaces ``setup`` created: the host end of the veth and the pod's end."""

    host_ifname: str
    host_mac: str
    container_ifname: str
    container_mac: str


class PodNetworker(Protocol):
    """Plumbs pod namespaces. Thread-safe; every call is bounded in time."""

    def setup(self, spec: PodSetup) -> PodInterfaces:
        """Creates (or converges) the veth, addresses, routes and rule; idempotent for the same spec."""

    def teardown(self, *, host_ifname: str, ip: IPv4Address, netns_path: str) -> None:
        """Removes what ``setup`` made; succeeds when the namespace or the veth is already gone."""

    def remove_routes(self, *, ip: IPv4Address) -> None:
        """Removes the IP's host route and policy rules only (the veth stays); idempotent."""

    def delete_link(self, *, host_ifname: str) -> None:
        """Deletes the host veth (and so its pod end) if it exists; idempotent."""

    def ensure_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        """Adds the policy rules of each (pod IP, ENI table) that are missing; for veths of another plugin."""

    def check(self, spec: PodSetup) -> list[str]:
        """Differences between the kernel and ``spec``; empty when the pod is as set up."""


def host_ifname_for(network_name: str, container_id: str, container_ifname: str) -> str:
    """A stable host veth name (<= 15 bytes) for an attachment.

    >>> host_ifname_for("tke-eni", "abc", "eth0")
    'eni9655fd958fd7'
    """
    digest = hashlib.sha1(f"{network_name}/{container_id}/{container_ifname}".encode()).hexdigest()
    return "eni" + digest[:12]


@dataclass
class FakePodNetworker:
    """In-memory ``PodNetworker``: remembers each set-up pod and lets tests break it or make it fail."""

    pods: dict[str, PodSetup] = field(default_factory=dict)
    """Set-up pods by host veth name, while their routes exist."""
    links: set[str] = field(default_factory=set)
    """Host veths that exist (they outlive ``remove_routes`` until ``delete_link``)."""
    rules: dict[IPv4Address, int] = field(default_factory=dict)
    """Policy rules by pod IP: their ENI table."""
    broken: set[str] = field(default_factory=set)
    fail_setup: Exception | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def setup(self, spec: PodSetup) -> PodInterfaces:
        with self._lock:
            if self.fail_setup is not None:
                raise self.fail_setup
            self.pods[spec.host_ifname] = spec
            self.links.add(spec.host_ifname)
            self.rules[spec.ip] = spec.eni_table
            self.broken.discard(spec.host_ifname)
        return PodInterfaces(
            host_ifname=spec.host_ifname,
            host_mac=_fake_mac(spec.host_ifname, "host"),
            container_ifname=spec.container_ifname,
            container_mac=_fake_mac(spec.host_ifname, "pod"),
        )

    def teardown(self, *, host_ifname: str, ip: IPv4Address, netns_path: str) -> None:
        with self._lock:
            self.pods.pop(host_ifname, None)
            self.links.discard(host_ifname)
            self.rules.pop(ip, None)
            self.broken.discard(host_ifname)

    def remove_routes(self, *, ip: IPv4Address) -> None:
        with self._lock:
            self.rules.pop(ip, None)
            for name in [n for n, spec in self.pods.items() if spec.ip == ip]:
                del self.pods[name]

    def delete_link(self, *, host_ifname: str) -> None:
        with self._lock:
            self.pods.pop(host_ifname, None)
            self.links.discard(host_ifname)

    def ensure_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        with self._lock:
            self.rules.update(rules)

    def check(self, spec: PodSetup) -> list[str]:
        with self._lock:
            have = self.pods.get(spec.host_ifname)
            if have is None or spec.host_ifname not in self.links:
                return [f"veth {spec.host_ifname} does not exist"]
            problems = []
            if have != spec:
                problems.append(f"pod {spec.host_ifname} was set up as {have}, expected {spec}")
            if spec.host_ifname in self.broken:
                problems.append(f"host route to {spec.ip} via {spec.host_ifname} is missing")
            return problems


def _fake_mac(name: str, side: str) -> str:
    digest = hashlib.sha1(f"{name}/{side}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02,) + tuple(digest[:5]))
