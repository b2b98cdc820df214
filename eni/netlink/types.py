"""Values exchanged with the host-networking layer, and the marks that say what we own.

Everything here is a frozen value checked on construction, so a bad request fails before any netlink call is
made and changes nothing. This module imports only the standard library: the agent and its unit tests use these
types without loading pyroute2. It must never hold state or talk to the kernel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

__all__ = [
    "DEFAULT_POD_GATEWAY",
    "ENI_RULE_PRIORITY",
    "ENI_TABLE_OFFSET",
    "FROM_POD_RULE_PRIORITY",
    "OWNED_RULE_PRIORITIES",
    "ROUTE_PROTOCOL",
    "TO_POD_RULE_PRIORITY",
    "DirectEniResult",
    "DirectEniSpec",
    "EniSpec",
    "EniState",
    "PodNetResult",
    "PodNetSpec",
    "eni_table",
    "validate_ifname",
    "validate_pod_rules",
    "validate_mac",
]

ROUTE_PROTOCOL = 177
"""rtm_protocol / FRA_PROTOCOL stamped on every route and rule we create (`ip route ... proto 177`).
Only objects carrying it are ever changed or removed by us; everything else on the node is foreign."""

TO_POD_RULE_PRIORITY = 512
"""`to <pod ip> lookup main`: traffic to a local pod uses the main table's /32 route, never an ENI table."""

ENI_RULE_PRIORITY = 1024
"""`from <eni primary ip> lookup <eni table>`."""

FROM_POD_RULE_PRIORITY = 1536
"""`from <pod ip> lookup <eni table>`: pod traffic leaves through the ENI that owns its address."""

OWNED_RULE_PRIORITIES = frozenset({TO_POD_RULE_PRIORITY, ENI_RULE_PRIORITY, FROM_POD_RULE_PRIORITY})

ENI_TABLE_OFFSET = 2000
"""TKE's rule: an ENI's route table id is its link index plus 2000."""

DEFAULT_POD_GATEWAY = IPv4Address("169.254.1.1")

_IFNAME = re.compile(r"^[A-Za-z0-9_.\-@:]{1,15}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_RESERVED_TABLES = frozenset({0, 253, 254, 255})  # unspec, default, main, local


def eni_table(link_index: int) -> int:
    """The route table of the ENI whose link index is `link_index`.

    >>> eni_table(3)
    2003
    """
    return link_index + ENI_TABLE_OFFSET


def validate_ifname(name: str, *, what: str = "interface name") -> str:
    """Return `name` if the kernel would accept it as an interface name, else raise ValueError.

    >>> validate_ifname("veth12ab")
    'veth12ab'
    """
    if not _IFNAME.match(name) or name in (".", ".."):
        raise ValueError(f"invalid {what} {name!r}: 1-15 characters of [A-Za-z0-9_.-@:]")
    return name


def validate_pod_rules(rules: Sequence[tuple[IPv4Address, int]]) -> list[tuple[IPv4Address, int]]:
    """Return `rules` as a list if each is (IPv4Address, ENI table above ENI_TABLE_OFFSET), else raise ValueError.

    >>> validate_pod_rules([(IPv4Address("10.0.0.5"), 2003)])
    [(IPv4Address('10.0.0.5'), 2003)]
    """
    checked = list(rules)
    for ip, table in checked:
        if not isinstance(ip, IPv4Address):
            raise ValueError(f"pod ip must be an IPv4Address, got {ip!r}")
        if not isinstance(table, int) or not ENI_TABLE_OFFSET < table < 2**32:
            raise ValueError(f"invalid ENI route table {table!r} for {ip}")
    return checked


def validate_mac(mac: str) -> str:
    """Return `mac` lower-cased if it is a colon-separated EUI-48, else raise ValueError.

    >>> validate_mac("02:AB:00:00:00:01")
    '02:ab:00:00:00:01'
    """
    lowered = mac.lower()
    if not _MAC.match(lowered):
        raise ValueError(f"invalid MAC address {mac!r}: want six colon-separated hex octets")
    return lowered


def _require_ipv4(value: object, what: str) -> None:
    if not isinstance(value, IPv4Address):
        raise ValueError(f"{what} must be an IPv4Address, got {value!r}")


def _require_table(table: int) -> None:
    if isinstance(table, bool) or not isinstance(table, int) or not 0 < table < 2**32 or table in _RESERVED_TABLES:
        raise ValueError(f"invalid route table {table!r}: want 1..2^32-1 except 253, 254, 255")


@dataclass(frozen=True, slots=True)
class PodNetSpec:
    """What one pod's network should look like."""

    netns_path: str
    """The pod's network namespace: a path (/proc/<pid>/ns/net, /var/run/netns/<name>)."""
    container_ifname: str
    """The interface inside the pod, usually eth0."""
    host_ifname: str
    """The host end of the veth pair, chosen by the caller; unique on the node."""
    ip: IPv4Address
    eni_table: int
    """The route table of the ENI that owns `ip` (see `eni_table()`)."""
    mtu: int = 1500
    gateway: IPv4Address = DEFAULT_POD_GATEWAY
    """Link-local next hop inside the pod; answered by a permanent neighbour entry, never by ARP."""

    def __post_init__(self) -> None:
        if not self.netns_path or "\0" in self.netns_path:
            raise ValueError(f"invalid netns path {self.netns_path!r}")
        validate_ifname(self.container_ifname, what="container interface name")
        validate_ifname(self.host_ifname, what="host interface name")
        _require_ipv4(self.ip, "pod ip")
        _require_ipv4(self.gateway, "pod gateway")
        if self.ip.is_unspecified or self.ip.is_multicast or self.ip.is_loopback or self.ip == self.gateway:
            raise ValueError(f"invalid pod ip {self.ip}")
        _require_table(self.eni_table)
        if isinstance(self.mtu, bool) or not isinstance(self.mtu, int) or not 68 <= self.mtu <= 65535:
            raise ValueError(f"invalid mtu {self.mtu!r}: want 68..65535")


@dataclass(frozen=True, slots=True)
class PodNetResult:
    """What `setup_pod` built: the two ends of the veth pair and the pod's addressing."""

    host_ifname: str
    host_mac: str
    container_ifname: str
    container_mac: str
    ip: IPv4Address
    gateway: IPv4Address


@dataclass(frozen=True, slots=True)
class EniSpec:
    """An ENI attached to the node, as the NodeENIConfig status describes it."""

    mac: str
    primary_ip: IPv4Address
    subnet: IPv4Network
    gateway: IPv4Address

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", validate_mac(self.mac))
        _require_ipv4(self.primary_ip, "ENI primary ip")
        _require_ipv4(self.gateway, "ENI gateway")
        if not isinstance(self.subnet, IPv4Network):
            raise ValueError(f"ENI subnet must be an IPv4Network, got {self.subnet!r}")
        if self.primary_ip not in self.subnet or self.gateway not in self.subnet:
            raise ValueError(f"ENI primary ip {self.primary_ip} and gateway {self.gateway} must be in {self.subnet}")


@dataclass(frozen=True, slots=True)
class EniState:
    """An ENI found on the node and configured: its link and its route table (index + 2000)."""

    mac: str
    ifname: str
    index: int
    table: int


@dataclass(frozen=True, slots=True)
class DirectEniSpec:
    """An exclusive ENI as one pod must have it: the link with `mac`, moved into the pod's namespace."""

    mac: str
    """The ENI's MAC address: how its link is found, wherever it is."""
    netns_path: str
    """The pod's network namespace."""
    ifname: str
    """The link's name inside the pod (CNI_IFNAME, usually eth0)."""
    address: IPv4Interface
    """The ENI's primary IP with its subnet's prefix length, e.g. 10.0.5.7/24."""
    gateway: IPv4Address
    """The subnet's gateway: the pod's default route goes via it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", validate_mac(self.mac))
        if not self.netns_path or "\0" in self.netns_path:
            raise ValueError(f"invalid netns path {self.netns_path!r}")
        validate_ifname(self.ifname, what="pod interface name")
        if not isinstance(self.address, IPv4Interface):
            raise ValueError(f"ENI address must be an IPv4Interface, got {self.address!r}")
        _require_ipv4(self.gateway, "ENI gateway")
        network = self.address.network
        if network.prefixlen > 30 or self.address.ip in (network.network_address, network.broadcast_address):
            raise ValueError(f"invalid ENI address {self.address}: want a host address in a subnet of /30 or wider")
        if self.gateway not in network or self.gateway == self.address.ip:
            raise ValueError(f"gateway {self.gateway} must be another address of {network}")


@dataclass(frozen=True, slots=True)
class DirectEniResult:
    """The exclusive ENI as set up in the pod: its name there and its MAC."""

    ifname: str
    mac: str
