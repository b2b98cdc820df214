"""Shared fixtures for tests that need root and the real kernel: throwaway network namespaces.

Every namespace gets a unique random name and is deleted at teardown, also when the test fails; links created
by these fixtures live only inside such namespaces (veth ends are created directly in them), never in the
host's own namespace. Tests in this folder are marked `netns` automatically and skip with a reason when not
run as root or when iproute2 is missing.

Fixtures:
- `netns_factory(prefix="t") -> Netns`: a fresh namespace (`.name`, `.path`, `.ip(...)` runs ``ip -n``,
  `.run(...)` runs ``ip netns exec``, `.ping(addr)` sends one ICMP echo from inside, `.socket(...)` opens one there).
- `node_vpc_pair(...) -> NodeVpcPair`: a "node" namespace and a "VPC peer" namespace joined by a veth whose
  node end (the "ENI") has a chosen MAC; `pair.add_eni(...)` adds more ENIs, `pair.route_to_pod(ip, eni)` makes
  the VPC deliver a pod address to an ENI the way the real VPC router does.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eni.netlink.namespace import entered

_HERE = Path(__file__).parent
_RUN_TIMEOUT = 20.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.netns)


@pytest.fixture(autouse=True)
def _needs_root_and_iproute2() -> None:
    if os.geteuid() != 0:
        pytest.skip("netns tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)")
    if shutil.which("ip") is None:
        pytest.skip("netns tests need iproute2's `ip`")


def run(*argv: str, check: bool = True, timeout: float = _RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run a command on the host (only `ip netns ...`/`ip -n ...` from these fixtures) and return its result."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Netns:
    """A named network namespace created by `netns_factory`."""

    name: str

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def ip(self, *args: str, check: bool = True) -> str:
        """``ip -n <name> <args...>``; returns stdout."""
        return run("ip", "-n", self.name, *args, check=check).stdout

    def run(self, *argv: str, check: bool = True, timeout: float = _RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``ip netns exec <name> <argv...>``."""
        return run("ip", "netns", "exec", self.name, *argv, check=check, timeout=timeout)

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket opened inside this namespace (it stays there whichever thread uses it)."""
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with entered(fd, op=f"ip netns exec {self.name}"):
                return socket.socket(family, kind, proto)
        finally:
            os.close(fd)

    def ping(self, target: object, *, timeout: float = 2.0, source: str | None = None) -> bool:
        """One ICMP echo from inside this namespace (a raw socket; no `ping` binary needed): True on a reply."""
        with self.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
            if source:
                sock.bind((source, 0))
            ident, seq = secrets.randbits(16), 1
            sock.sendto(_echo_request(ident, seq), (str(target), 0))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    packet, (sender, _) = sock.recvfrom(65535)
                except TimeoutError:
                    return False
                header = (packet[0] & 0x0F) * 4
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", packet[header:header + 8])
                if kind == 0 and rid == ident and rseq == seq and sender == str(target):
                    return True
            return False


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _echo_request(ident: int, seq: int) -> bytes:
    payload = b"tke-eni-probe"[:12]
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


class NetnsFactory:
    """Creates namespaces with unique random names and deletes all of them in `cleanup()`."""

    def __init__(self) -> None:
        self.created: list[Netns] = []

    def __call__(self, prefix: str = "t") -> Netns:
        ns = Netns(f"{prefix}-{secrets.token_hex(4)}")
        run("ip", "netns", "add", ns.name)
        self.created.append(ns)
        return ns

    def delete(self, ns: Netns) -> None:
        run("ip", "netns", "del", ns.name, check=False)

    def cleanup(self) -> None:
        for ns in reversed(self.created):
            if ns.exists():
                self.delete(ns)
        self.created.clear()


@pytest.fixture
def netns_factory() -> Iterator[NetnsFactory]:
    factory = NetnsFactory()
    try:
        yield factory
    finally:
        factory.cleanup()


@dataclass
class Eni:
    """One "ENI": the node end of a veth (MAC chosen by the test); its peer end sits in the VPC namespace."""

    ifname: str
    mac: str
    peer_ifname: str
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    primary_ip: ipaddress.IPv4Address


@dataclass
class NodeVpcPair:
    """A node namespace and a VPC peer namespace; the peer answers as each ENI's subnet gateway.

    `remote_ip` is an address on the peer's loopback outside every subnet: reaching it proves traffic left
    through an ENI's default route (the node's main table has no route to it).
    """

    node: Netns
    peer: Netns
    remote_ip: ipaddress.IPv4Address
    enis: list[Eni] = field(default_factory=list)

    def add_eni(self, *, mac: str, subnet: str) -> Eni:
        net = ipaddress.IPv4Network(subnet)
        hosts = net.hosts()
        gateway, primary = next(hosts), next(hosts)
        n = len(self.enis)
        eni = Eni(f"eni{n}", mac.lower(), f"vpc{n}", net, gateway, primary)
        run("ip", "link", "add", "name", eni.ifname, "netns", self.node.name, "address", eni.mac,
            "type", "veth", "peer", "name", eni.peer_ifname, "netns", self.peer.name)
        self.peer.ip("addr", "add", f"{gateway}/{net.prefixlen}", "dev", eni.peer_ifname)
        self.peer.ip("link", "set", eni.peer_ifname, "up")
        self.enis.append(eni)
        return eni

    def route_to_pod(self, ip: ipaddress.IPv4Address | str, eni: Eni) -> None:
        """The VPC delivers `ip` to `eni` (as Tencent's VPC does for a secondary IP of that ENI)."""
        self.peer.ip("neigh", "replace", str(ip), "lladdr", eni.mac, "dev", eni.peer_ifname, "nud", "permanent")


@pytest.fixture
def node_vpc_pair(netns_factory: NetnsFactory) -> Callable[..., NodeVpcPair]:
    """Factory: ``node_vpc_pair(eni_mac="02:..", subnet="10.20.0.0/24")`` builds node + peer + one ENI."""

    def build(*, eni_mac: str = "02:00:0a:14:00:05", subnet: str = "10.20.0.0/24",
              remote_ip: str = "192.168.77.1") -> NodeVpcPair:
        node, peer = netns_factory("node"), netns_factory("vpc")
        pair = NodeVpcPair(node, peer, ipaddress.IPv4Address(remote_ip))
        peer.ip("link", "set", "lo", "up")
        peer.ip("addr", "add", f"{remote_ip}/32", "dev", "lo")
        peer.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        pair.add_eni(mac=eni_mac, subnet=subnet)
        return pair

    return build
