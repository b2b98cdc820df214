"""The state of `FakeNetwork`'s in-memory kernel: namespaces holding links, addresses, routes, rules, neighbours.

Values with the kernel's few behaviours that belong to one namespace (EEXIST on a taken name, a veth taking
its peer along, routes dying with their link). Must never touch the real kernel.
"""

from __future__ import annotations

import errno
import itertools
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from eni.netlink.errors import LinkNotFound, NetlinkError
from eni.netlink.types import validate_mac

__all__ = ["FOREIGN_PROTOCOL", "FakeLink", "FakeNamespace", "FakeRoute", "FakeRule", "MAIN_TABLE", "random_mac"]

MAIN_TABLE = 254
FOREIGN_PROTOCOL = 4  # what `ip route add` / `ip rule add` stamp by default (boot/static)


@dataclass
class FakeLink:
    """A link in a fake namespace. `peer` is (namespace, ifname) for a veth."""

    index: int
    ifname: str
    mac: str
    kind: str = ""
    up: bool = False
    mtu: int = 1500
    peer: tuple[FakeNamespace, str] | None = None
    addresses: set[tuple[IPv4Address, int]] = field(default_factory=set)


@dataclass(frozen=True)
class FakeRoute:
    table: int
    dst: IPv4Network
    oif: str | None
    gateway: IPv4Address | None = None
    protocol: int = FOREIGN_PROTOCOL


@dataclass(frozen=True)
class FakeRule:
    priority: int
    table: int
    src: IPv4Address | None = None
    dst: IPv4Address | None = None
    protocol: int = FOREIGN_PROTOCOL


@dataclass(eq=False)
class FakeNamespace:
    """One network namespace: links by name, routes, rules, neighbours `(ifname, ip) -> mac`, sysctls."""

    path: str
    links: dict[str, FakeLink] = field(default_factory=dict)
    routes: set[FakeRoute] = field(default_factory=set)
    rules: list[FakeRule] = field(default_factory=list)
    neighbours: dict[tuple[str, IPv4Address], str] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)
    _indexes: itertools.count[int] = field(default_factory=lambda: itertools.count(2))

    def add_link(self, ifname: str, mac: str, *, kind: str = "", up: bool = False, mtu: int = 1500) -> FakeLink:
        """``ip link add``: EEXIST when the name is taken."""
        if ifname in self.links:
            raise NetlinkError(f"ip link add {ifname}", errno.EEXIST, f"{ifname} already exists")
        link = FakeLink(next(self._indexes), ifname, validate_mac(mac), kind, up, mtu)
        self.links[ifname] = link
        self.sysctls[f"conf/{ifname}/rp_filter"] = "1"
        return link

    def delete_link(self, ifname: str) -> None:
        """``ip link del``: a veth takes its peer with it; routes and neighbours through the link go too."""
        link = self.links.pop(ifname, None)
        if link is None:
            raise LinkNotFound(f"ip link del {ifname}")
        self.routes = {r for r in self.routes if r.oif != ifname}
        self.neighbours = {k: v for k, v in self.neighbours.items() if k[0] != ifname}
        self.sysctls.pop(f"conf/{ifname}/rp_filter", None)
        if link.peer is not None:
            other_ns, other_name = link.peer
            other = other_ns.links.get(other_name)
            if other is not None and other.peer is not None and other.peer[0] is self:
                other.peer = None
                other_ns.delete_link(other_name)

    def link_by_index(self, index: int) -> FakeLink | None:
        return next((link for link in self.links.values() if link.index == index), None)

    def add_rule(self, rule: FakeRule) -> bool:
        """``ip rule add``; False (no change) when an identical rule exists, as the kernel answers EEXIST."""
        if rule in self.rules:
            return False
        self.rules.append(rule)
        self.rules.sort(key=lambda r: r.priority)
        return True


def random_mac(n: int) -> str:
    return "02:fa:" + ":".join(f"{b:02x}" for b in n.to_bytes(4, "big"))
