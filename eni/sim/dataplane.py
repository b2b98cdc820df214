"""The simulated VPC data plane: a router namespace, node namespaces, ENIs as veths, /32 routes per IP.

The cloud's truth is the data plane's truth. Each ENI (primary ``eth0`` or attached later) is a veth whose
node end carries the ENI's MAC inside the node namespace and whose far end sits in the router namespace.
The router delivers an address to an ENI only while the emulator has that IP assigned to that ENI: a /32
route plus a permanent neighbour entry with the ENI's MAC, installed by ``on_assign``/``on_attach`` and
removed by ``on_unassign``/``on_detach``. Each subnet's gateway is an address of the router, so node
default routes work, and the router answers ARP for other VPC addresses (proxy ARP) like the real VPC.

An ENI's primary IP is routed like its secondary IPs, so an exclusive (direct) ENI that the agent moved into
a pod's namespace receives its pod's traffic: the router end stays where it is, only the node end moves. Its
``ethN`` name stays reserved while it is attached, so that a later ENI never takes the name the agent gives
back to it when the pod goes.

``VpcDataPlane`` implements the emulator's ``EmulatorHooks``; hooks run on the emulator's dispatcher
thread and must not raise, so failures are logged. It never creates anything outside the namespaces
named by its ``SimNames`` (nothing in the host namespace).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from eni.cloud.emulator import EniView
from eni.sim.iproute import SimNetError, add_netns, ip_in, netns_exists, sysctl_in
from eni.sim.names import SimNames

log = logging.getLogger(__name__)

GATEWAY_LINK = "lo"  # gateways live on the router's loopback (no dummy links needed)


@dataclass(frozen=True, slots=True)
class NodePort:
    """A node's primary ENI as the data plane built it."""

    netns: str
    instance_id: str
    eni_id: str
    mac: str
    primary_ip: ipaddress.IPv4Address
    subnet: ipaddress.IPv4Network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return gateway_of(self.subnet)


def gateway_of(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """A VPC subnet's gateway: its first host address (Tencent reserves it)."""
    return subnet.network_address + 1


class VpcDataPlane:
    """Programs the router and node namespaces of one simulated cluster."""

    def __init__(self, names: SimNames) -> None:
        self.names = names
        # Serialises hook calls with node creation: one ENI's veth must exist before its routes.
        self._lock = threading.Lock()
        self._macs: dict[str, str] = {}
        self._ifnames: dict[str, tuple[str, str]] = {}  # attached ENI id -> (node netns, the ethN it got there)

    # ---- building ----------------------------------------------------------------------------------

    def create_router(self, subnets: Iterable[str]) -> None:
        """The router namespace, forwarding on, with every subnet's gateway address (idempotent)."""
        router = self.names.router
        with self._lock:
            if not netns_exists(router):
                add_netns(router)
            sysctl_in(router, "net.ipv4.ip_forward", "1")
            sysctl_in(router, "net.ipv4.conf.all.rp_filter", "0")
            sysctl_in(router, "net.ipv4.conf.default.rp_filter", "0")
            sysctl_in(router, "net.ipv4.conf.default.proxy_arp", "1")
            for cidr in subnets:
                gw = gateway_of(ipaddress.IPv4Network(cidr))
                ip_in(router, "addr", "replace", f"{gw}/32", "dev", GATEWAY_LINK)

    def add_node(self, *, instance_id: str, eni_id: str, mac: str, primary_ip: str, subnet: str) -> NodePort:
        """The node namespace with ``eth0`` (the primary ENI), its address and default route.

        The namespace must not exist yet; its name comes from ``SimNames.node``. Forwarding is left to
        the agent, which owns the node's sysctls.
        """
        port = NodePort(self.names.node(instance_id), instance_id, eni_id, mac.lower(),
                        ipaddress.IPv4Address(primary_ip), ipaddress.IPv4Network(subnet))
        with self._lock:
            add_netns(port.netns)
            self._plug(port.netns, "eth0", eni_id=eni_id, mac=port.mac, subnet=port.subnet)
            ip_in(port.netns, "addr", "add", f"{port.primary_ip}/{port.subnet.prefixlen}", "dev", "eth0")
            ip_in(port.netns, "route", "replace", "default", "via", str(port.gateway), "dev", "eth0")
            self._route(eni_id, port.mac, [str(port.primary_ip)])
        return port

    def _plug(self, netns: str, ifname: str, *, eni_id: str, mac: str, subnet: ipaddress.IPv4Network) -> None:
        """A veth ``ifname``@netns (MAC ``mac``) <-> router link named after the ENI; both ends up."""
        router, rlink = self.names.router, SimNames.router_link(eni_id)
        ip_in(router, "link", "add", rlink, "type", "veth", "peer", "name", ifname, "address", mac, "netns", netns)
        sysctl_in(router, f"net.ipv4.conf.{rlink}.proxy_arp", "1")
        # Proxy ARP replies are delayed up to 0.8 s by default; the VPC answers at once.
        sysctl_in(router, f"net.ipv4.neigh.{rlink}.proxy_delay", "0")
        ip_in(router, "link", "set", rlink, "up")
        ip_in(netns, "link", "set", ifname, "up")
        self._macs[eni_id] = mac.lower()
        # The VPC gateway's MAC is fixed and known: no ARP needed from the node towards the router.
        rmac = _link_mac(router, rlink)
        ip_in(netns, "neigh", "replace", str(gateway_of(subnet)), "lladdr", rmac, "dev", ifname, "nud", "permanent")

    def _route(self, eni_id: str, mac: str, ips: Iterable[str]) -> None:
        router, rlink = self.names.router, SimNames.router_link(eni_id)
        for ip in ips:
            ip_in(router, "route", "replace", f"{ip}/32", "dev", rlink)
            ip_in(router, "neigh", "replace", ip, "lladdr", mac, "dev", rlink, "nud", "permanent")

    def _unroute(self, eni_id: str, ips: Iterable[str]) -> None:
        router, rlink = self.names.router, SimNames.router_link(eni_id)
        for ip in ips:
            ip_in(router, "route", "del", f"{ip}/32", "dev", rlink, check=False)
            ip_in(router, "neigh", "del", ip, "dev", rlink, check=False)

    # ---- EmulatorHooks ----------------------------------------------------------------------------------

    def on_attach(self, eni: EniView, instance_id: str) -> None:
        netns = self.names.node(instance_id)
        with self._lock:
            if not netns_exists(netns):
                log.warning("ENI %s attached to %s, which is not a simulated node; no link made", eni.eni_id,
                            instance_id)
                return
            try:
                reserved = {name for ns, name in self._ifnames.values() if ns == netns}
                ifname = _free_eth(netns, reserved=reserved)
                self._plug(netns, ifname, eni_id=eni.eni_id, mac=eni.mac,
                           subnet=ipaddress.IPv4Network(eni.subnet_cidr))
                self._route(eni.eni_id, eni.mac.lower(), eni.ips)
                self._ifnames[eni.eni_id] = (netns, ifname)
            except SimNetError:
                log.exception("cannot plug ENI %s into %s", eni.eni_id, netns)
                return
        log.info("ENI %s (%s) attached to %s as %s with %d IPs", eni.eni_id, eni.mac, netns, ifname, len(eni.ips))

    def on_detach(self, eni: EniView, instance_id: str) -> None:
        with self._lock:
            # Deleting the router end removes the node end, its routes and neighbours with it.
            ip_in(self.names.router, "link", "del", SimNames.router_link(eni.eni_id), check=False)
            self._macs.pop(eni.eni_id, None)
            self._ifnames.pop(eni.eni_id, None)
        log.info("ENI %s detached from %s", eni.eni_id, instance_id)

    def on_assign(self, eni_id: str, ips: tuple[str, ...]) -> None:
        with self._lock:
            rlink = SimNames.router_link(eni_id)
            if rlink not in ip_in(self.names.router, "-o", "link", "show", check=False):
                log.info("IPs %s assigned to unplugged ENI %s: routed when it attaches", ",".join(ips), eni_id)
                return
            try:
                mac = self._macs.get(eni_id) or _link_peer_mac(self.names.router, rlink)
                self._route(eni_id, mac, ips)
            except SimNetError:
                log.exception("cannot route %s to %s", ",".join(ips), eni_id)
                return
        log.info("routed %s to ENI %s", ",".join(ips), eni_id)

    def on_unassign(self, eni_id: str, ips: tuple[str, ...]) -> None:
        with self._lock:
            self._unroute(eni_id, ips)
        log.info("unrouted %s from ENI %s", ",".join(ips), eni_id)

    # ---- inspection ---------------------------------------------------------------------------------------

    def routed_ips(self) -> dict[str, str]:
        """IP -> router link, for every /32 the router holds (what the VPC delivers, and where)."""
        routes: dict[str, str] = {}
        for line in ip_in(self.names.router, "-o", "route", "show", check=False).splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1] == "dev" and "/" not in parts[0] and parts[0] != "default":
                routes[parts[0]] = parts[2]
        return routes


def _link_mac(netns: str, ifname: str) -> str:
    out = ip_in(netns, "-o", "link", "show", ifname)
    fields = out.split()
    return fields[fields.index("link/ether") + 1]


def _link_peer_mac(router: str, rlink: str) -> str:
    """The MAC at the node end of router link ``rlink``, read from the router's permanent neighbours."""
    for line in ip_in(router, "neigh", "show", "dev", rlink, check=False).splitlines():
        fields = line.split()
        if "lladdr" in fields:
            return fields[fields.index("lladdr") + 1]
    raise SimNetError(f"no known MAC behind {rlink} in {router}")


def _free_eth(netns: str, *, reserved: Iterable[str] = ()) -> str:
    """The lowest ``ethN`` name neither used in ``netns`` nor ``reserved`` (a cloud VM names its ENIs eth0, eth1,
    ...; an ENI inside a pod's namespace keeps its name reserved)."""
    taken = set(reserved)
    for line in ip_in(netns, "-o", "link", "show").splitlines():
        fields = line.split(":", 2)
        if len(fields) >= 2:
            taken.add(fields[1].strip().split("@")[0])
    for n in range(1, 64):
        if f"eth{n}" not in taken:
            return f"eth{n}"
    raise SimNetError(f"no free ethN name in {netns}")
