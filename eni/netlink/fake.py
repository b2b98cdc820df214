"""`FakeNetwork`: an in-memory kernel that implements `PodNetwork`, `NodeNetwork` and `DirectEniNetwork` for unit tests.

It keeps namespaces with links, addresses, routes, rules and neighbours, and behaves like `PyrouteNetwork`
on the kernel: veth pairs die together (also when a namespace is deleted), routes die with their link, the
same errno-carrying errors are raised (ENOENT for a missing namespace, EEXIST for a taken interface name,
ENODEV for a missing link), a failed set-up leaves nothing behind, and ownership follows the same marks
(`ROUTE_PROTOCOL`, `OWNED_RULE_PRIORITIES`). Tests may read and edit the state directly (to inject drift) and
queue failures with `fail_next`. Thread-safe (one lock). Must never touch the real kernel.
"""

from __future__ import annotations

import errno
import itertools
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.types import (
    ENI_RULE_PRIORITY,
    ENI_TABLE_OFFSET,
    FROM_POD_RULE_PRIORITY,
    OWNED_RULE_PRIORITIES,
    ROUTE_PROTOCOL,
    TO_POD_RULE_PRIORITY,
    DirectEniResult,
    DirectEniSpec,
    EniSpec,
    EniState,
    PodNetResult,
    PodNetSpec,
    eni_table,
    validate_ifname,
    validate_mac,
    validate_pod_rules,
)

__all__ = ["FakeLink", "FakeNamespace", "FakeNetwork", "FakeRoute", "FakeRule", "MAIN_TABLE"]

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


def _random_mac(n: int) -> str:
    return "02:fa:" + ":".join(f"{b:02x}" for b in n.to_bytes(4, "big"))


class FakeNetwork:
    """In-memory `PodNetwork` + `NodeNetwork` + `DirectEniNetwork`; `node` is the node namespace, `namespaces` the
    pod ones by path. Exclusive ENIs move between them as links keeping their MAC (down and bare after a move)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._macs = itertools.count(1)
        self.node = FakeNamespace("node")
        self.node.sysctls.update({"ip_forward": "0", "conf/all/rp_filter": "1", "conf/default/rp_filter": "1"})
        self.namespaces: dict[str, FakeNamespace] = {}
        self._failures: dict[str, list[NetlinkError]] = {}
        self.calls: list[str] = []

    # Test set-up

    def add_namespace(self, path: str) -> FakeNamespace:
        """A pod namespace at `path` (what the container runtime would create)."""
        with self._lock:
            return self.namespaces.setdefault(path, FakeNamespace(path))

    def delete_namespace(self, path: str) -> None:
        """The runtime deletes the namespace: its veths disappear with their node ends.

        The kernel does this asynchronously (the host end lingers for a few milliseconds); the fake at once.
        """
        with self._lock:
            ns = self.namespaces.pop(path, None)
            if ns is None:
                return
            for name in list(ns.links):
                if name in ns.links:  # a veth removed with its peer is already gone
                    ns.delete_link(name)

    def add_eni(self, mac: str, *, ifname: str | None = None) -> FakeLink:
        """An ENI attached to the node: a down link with `mac`."""
        with self._lock:
            return self.node.add_link(ifname or f"eth{len(self.node.links) + 1}", mac)

    def fail_next(self, method: str, error: NetlinkError) -> None:
        """Make the next call of `method` (e.g. "setup_pod") raise `error` before changing anything."""
        with self._lock:
            self._failures.setdefault(method, []).append(error)

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        queued = self._failures.get(method)
        if queued:
            raise queued.pop(0)

    # PodNetwork

    def setup_pod(self, spec: PodNetSpec) -> PodNetResult:
        """See `PodNetwork.setup_pod`."""
        with self._lock:
            self._enter("setup_pod")
            pod = self.namespaces.get(spec.netns_path)
            if pod is None:
                raise NamespaceNotFound(f"setup pod {spec.ip}",
                                        message=f"network namespace {spec.netns_path} not found")
            host = self.node.links.get(spec.host_ifname)
            if host is not None:
                if host.kind != "veth":
                    raise NetlinkError(f"ip link add {spec.host_ifname}", errno.EEXIST,
                                       f"{spec.host_ifname} exists and is not a veth")
                if host.peer is not None and host.peer[0] is pod and host.peer[1] == spec.container_ifname:
                    return self._configure(spec, host, pod.links[spec.container_ifname])
                self.node.delete_link(spec.host_ifname)
            if spec.container_ifname in pod.links:
                raise NetlinkError(
                    f"ip link add {spec.host_ifname} type veth", errno.EEXIST,
                    f"{spec.host_ifname} on the node or {spec.container_ifname} in the pod already exists",
                )
            host = self.node.add_link(spec.host_ifname, _random_mac(next(self._macs)), kind="veth", up=True)
            peer = pod.add_link(spec.container_ifname, _random_mac(next(self._macs)), kind="veth")
            host.peer, peer.peer = (pod, peer.ifname), (self.node, host.ifname)
            return self._configure(spec, host, peer)

    def _configure(self, spec: PodNetSpec, host: FakeLink, peer: FakeLink) -> PodNetResult:
        pod = self.namespaces[spec.netns_path]
        host.mtu = peer.mtu = spec.mtu
        host.up = peer.up = True
        peer.addresses.add((spec.ip, 32))
        gw = IPv4Network(f"{spec.gateway}/32")
        pod.routes |= {FakeRoute(MAIN_TABLE, gw, peer.ifname), FakeRoute(MAIN_TABLE, IPv4Network("0.0.0.0/0"),
                                                                         peer.ifname, spec.gateway)}
        pod.neighbours[(peer.ifname, spec.gateway)] = host.mac
        self.node.neighbours[(host.ifname, spec.ip)] = peer.mac
        self.node.routes = {r for r in self.node.routes if not _is_pod_route(r, spec.ip)}
        self.node.routes.add(FakeRoute(MAIN_TABLE, IPv4Network(f"{spec.ip}/32"), host.ifname, None, ROUTE_PROTOCOL))
        self.node.add_rule(FakeRule(TO_POD_RULE_PRIORITY, MAIN_TABLE, dst=spec.ip, protocol=ROUTE_PROTOCOL))
        self.node.add_rule(FakeRule(FROM_POD_RULE_PRIORITY, spec.eni_table, src=spec.ip, protocol=ROUTE_PROTOCOL))
        return PodNetResult(host.ifname, host.mac, peer.ifname, peer.mac, spec.ip, spec.gateway)

    def teardown_pod(self, *, host_ifname: str, ip: IPv4Address, netns_path: str | None) -> None:
        """See `PodNetwork.teardown_pod`."""
        validate_ifname(host_ifname, what="host interface name")
        if not isinstance(ip, IPv4Address):
            raise ValueError(f"pod ip must be an IPv4Address, got {ip!r}")
        with self._lock:
            self._enter("teardown_pod")
            self.node.rules = [r for r in self.node.rules if not _is_pod_rule(r, ip)]
            self.node.routes = {r for r in self.node.routes if not _is_pod_route(r, ip)}
            host = self.node.links.get(host_ifname)
            if host is not None and host.kind == "veth":
                self.node.delete_link(host_ifname)

    def remove_pod_routes(self, *, ip: IPv4Address) -> None:
        """See `PodNetwork.remove_pod_routes`."""
        if not isinstance(ip, IPv4Address):
            raise ValueError(f"pod ip must be an IPv4Address, got {ip!r}")
        with self._lock:
            self._enter("remove_pod_routes")
            self.node.rules = [r for r in self.node.rules if not _is_pod_rule(r, ip)]
            self.node.routes = {r for r in self.node.routes if not _is_pod_route(r, ip)}

    def delete_host_veth(self, *, host_ifname: str) -> None:
        """See `PodNetwork.delete_host_veth`."""
        validate_ifname(host_ifname, what="host interface name")
        with self._lock:
            self._enter("delete_host_veth")
            host = self.node.links.get(host_ifname)
            if host is not None and host.kind == "veth":
                self.node.delete_link(host_ifname)

    def check_pod(self, spec: PodNetSpec) -> list[str]:
        """See `PodNetwork.check_pod` (same sentences as the kernel implementation)."""
        with self._lock:
            self._enter("check_pod")
            problems: list[str] = []
            host = self.node.links.get(spec.host_ifname)
            if host is None:
                problems.append(f"host veth {spec.host_ifname} not found")
            elif host.kind != "veth":
                problems.append(f"host link {spec.host_ifname} is a {host.kind or 'device'}, not a veth")
            else:
                if not host.up:
                    problems.append(f"host veth {spec.host_ifname} is down")
                if FakeRoute(MAIN_TABLE, IPv4Network(f"{spec.ip}/32"), spec.host_ifname, None, ROUTE_PROTOCOL) \
                        not in self.node.routes:
                    problems.append(f"route {spec.ip}/32 dev {spec.host_ifname} missing from the main table")
            if FakeRule(TO_POD_RULE_PRIORITY, MAIN_TABLE, dst=spec.ip, protocol=ROUTE_PROTOCOL) not in self.node.rules:
                problems.append(f"rule 'to {spec.ip} lookup main' (priority {TO_POD_RULE_PRIORITY}) missing")
            wanted = FakeRule(FROM_POD_RULE_PRIORITY, spec.eni_table, src=spec.ip, protocol=ROUTE_PROTOCOL)
            if wanted not in self.node.rules:
                problems.append(f"rule 'from {spec.ip} lookup {spec.eni_table}' (priority "
                                f"{FROM_POD_RULE_PRIORITY}) missing")
            pod = self.namespaces.get(spec.netns_path)
            if pod is None:
                return [*problems, f"pod network namespace {spec.netns_path} not found"]
            return problems + self._check_pod_side(pod, spec, host)

    def _check_pod_side(self, pod: FakeNamespace, spec: PodNetSpec, host: FakeLink | None) -> list[str]:
        dev = spec.container_ifname
        peer = pod.links.get(dev)
        if peer is None:
            return [f"{dev} not found in the pod namespace"]
        problems = [] if peer.up else [f"{dev} in the pod is down"]
        if (spec.ip, 32) not in peer.addresses:
            problems.append(f"address {spec.ip}/32 missing on {dev}")
        if FakeRoute(MAIN_TABLE, IPv4Network("0.0.0.0/0"), dev, spec.gateway) not in pod.routes:
            problems.append(f"default route via {spec.gateway} missing in the pod")
        if host is not None and pod.neighbours.get((dev, spec.gateway)) != host.mac:
            problems.append(f"permanent neighbour {spec.gateway} missing in the pod")
        return problems

    # NodeNetwork

    def sync_enis(self, enis: Sequence[EniSpec]) -> list[EniState]:
        """See `NodeNetwork.sync_enis`."""
        with self._lock:
            self._enter("sync_enis")
            by_mac = {link.mac: link for link in self.node.links.values()}
            states: list[EniState] = []
            for spec in enis:
                link = by_mac.get(spec.mac)
                if link is None:
                    continue
                table = eni_table(link.index)
                link.up = True
                link.addresses.add((spec.primary_ip, spec.subnet.prefixlen))
                self.node.routes |= {
                    FakeRoute(table, spec.subnet, link.ifname, None, ROUTE_PROTOCOL),
                    FakeRoute(table, IPv4Network("0.0.0.0/0"), link.ifname, spec.gateway, ROUTE_PROTOCOL),
                }
                self.node.add_rule(FakeRule(ENI_RULE_PRIORITY, table, src=spec.primary_ip, protocol=ROUTE_PROTOCOL))
                states.append(EniState(mac=spec.mac, ifname=link.ifname, index=link.index, table=table))
            return states

    def enforce_sysctls(self, ifnames: Sequence[str]) -> None:
        """See `NodeNetwork.enforce_sysctls`."""
        names = [validate_ifname(name) for name in ifnames]
        with self._lock:
            self._enter("enforce_sysctls")
            self.node.sysctls.update({"ip_forward": "1", "conf/all/rp_filter": "0", "conf/default/rp_filter": "0"})
            missing = [name for name in names if name not in self.node.links]
            for name in names:
                if name in self.node.links:
                    self.node.sysctls[f"conf/{name}/rp_filter"] = "0"
            if missing:
                raise LinkNotFound("sysctl -w", message=f"no such interface for rp_filter: {', '.join(missing)}")

    def ensure_pod_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        """See `NodeNetwork.ensure_pod_rules`."""
        checked = validate_pod_rules(rules)
        with self._lock:
            self._enter("ensure_pod_rules")
            for ip, table in checked:
                self.node.add_rule(FakeRule(TO_POD_RULE_PRIORITY, MAIN_TABLE, dst=ip, protocol=ROUTE_PROTOCOL))
                self.node.add_rule(FakeRule(FROM_POD_RULE_PRIORITY, table, src=ip, protocol=ROUTE_PROTOCOL))

    def list_pod_rules(self) -> list[tuple[IPv4Address, int]]:
        """See `NodeNetwork.list_pod_rules`."""
        with self._lock:
            self._enter("list_pod_rules")
            return [(r.src, r.table) for r in self.node.rules
                    if r.priority == FROM_POD_RULE_PRIORITY and r.protocol == ROUTE_PROTOCOL and r.src is not None]

    def remove_stale(self, *, keep_pod_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> int:
        """See `NodeNetwork.remove_stale`."""
        keep_ips, tables = frozenset(keep_pod_ips), frozenset(keep_tables)
        with self._lock:
            self._enter("remove_stale")
            rules = [r for r in self.node.rules if not _stale_rule(r, keep_ips, tables)]
            routes = {r for r in self.node.routes if not _stale_route(r, keep_ips, tables)}
            removed = len(self.node.rules) - len(rules) + len(self.node.routes) - len(routes)
            self.node.rules, self.node.routes = rules, routes
            return removed


    # DirectEniNetwork

    def node_links(self) -> dict[str, str]:
        """See `DirectEniNetwork.node_links`."""
        with self._lock:
            self._enter("node_links")
            return {link.mac: link.ifname for link in self.node.links.values()}

    def attach_direct(self, spec: DirectEniSpec) -> DirectEniResult:
        """See `DirectEniNetwork.attach_direct`."""
        with self._lock:
            self._enter("attach_direct")
            pod = self.namespaces.get(spec.netns_path)
            if pod is None:
                raise NamespaceNotFound(f"attach ENI {spec.mac}",
                                        message=f"network namespace {spec.netns_path} not found")
            link = _by_mac(pod, spec.mac)
            taken = pod.links.get(spec.ifname)
            if taken is not None and taken is not link:
                raise NetlinkError(f"ip link set netns {spec.netns_path} name {spec.ifname}", errno.EEXIST,
                                   f"{spec.ifname} already exists in the pod namespace")
            if link is None:
                link = _by_mac(self.node, spec.mac)
                if link is None:
                    raise LinkNotFound(f"ip link show address {spec.mac}",
                                       message=f"no link with MAC {spec.mac} in the node or the pod namespace")
                _move_link(self.node, pod, link, spec.ifname)
            elif link.ifname != spec.ifname:
                _move_link(pod, pod, link, spec.ifname)
            link.up = True
            link.addresses = {(spec.address.ip, spec.address.network.prefixlen)}
            pod.routes = {r for r in pod.routes if not (r.oif == link.ifname and r.dst.prefixlen == 0)}
            pod.routes |= {FakeRoute(MAIN_TABLE, spec.address.network, link.ifname),
                           FakeRoute(MAIN_TABLE, IPv4Network("0.0.0.0/0"), link.ifname, spec.gateway)}
            return DirectEniResult(ifname=spec.ifname, mac=spec.mac)

    def detach_direct(self, *, mac: str, netns_path: str | None, node_ifname: str) -> bool:
        """See `DirectEniNetwork.detach_direct`."""
        mac = validate_mac(mac)
        validate_ifname(node_ifname, what="node interface name")
        with self._lock:
            self._enter("detach_direct")
            pod = self.namespaces.get(netns_path) if netns_path else None
            link = _by_mac(pod, mac) if pod is not None else None
            if pod is not None and link is not None:
                _move_link(pod, self.node, link, node_ifname if node_ifname not in self.node.links else
                           f"eni{link.index}")
            link = _by_mac(self.node, mac)
            if link is None:
                return False
            if link.ifname != node_ifname and node_ifname not in self.node.links:
                _move_link(self.node, self.node, link, node_ifname)
            link.up, link.addresses = False, set()
            return True

    def check_direct(self, spec: DirectEniSpec) -> list[str]:
        """See `DirectEniNetwork.check_direct` (same sentences as the kernel implementation)."""
        with self._lock:
            self._enter("check_direct")
            pod = self.namespaces.get(spec.netns_path)
            if pod is None:
                return [f"pod network namespace {spec.netns_path} not found"]
            link = pod.links.get(spec.ifname)
            if link is None:
                return [f"{spec.ifname} not found in the pod namespace"]
            problems = [] if link.mac == spec.mac else [f"{spec.ifname} in the pod is not ENI {spec.mac} "
                                                        f"(its MAC is {link.mac})"]
            if not link.up:
                problems.append(f"{spec.ifname} in the pod is down")
            if (spec.address.ip, spec.address.network.prefixlen) not in link.addresses:
                problems.append(f"address {spec.address} missing on {spec.ifname}")
            if FakeRoute(MAIN_TABLE, IPv4Network("0.0.0.0/0"), link.ifname, spec.gateway) not in pod.routes:
                problems.append(f"default route via {spec.gateway} dev {spec.ifname} missing in the pod")
            return problems

    def find_direct(self, macs: Collection[str]) -> dict[str, str]:
        """See `DirectEniNetwork.find_direct`."""
        wanted = {validate_mac(m) for m in macs}
        with self._lock:
            self._enter("find_direct")
            return {link.mac: path for path, ns in sorted(self.namespaces.items())
                    for link in ns.links.values() if link.mac in wanted}


def _is_pod_rule(rule: FakeRule, ip: IPv4Address) -> bool:
    return rule.protocol == ROUTE_PROTOCOL and (
        (rule.priority == FROM_POD_RULE_PRIORITY and rule.src == ip)
        or (rule.priority == TO_POD_RULE_PRIORITY and rule.dst == ip)
    )


def _is_pod_route(route: FakeRoute, ip: IPv4Address) -> bool:
    return route.protocol == ROUTE_PROTOCOL and route.table == MAIN_TABLE and route.dst == IPv4Network(f"{ip}/32")


def _stale_rule(rule: FakeRule, keep_ips: frozenset[IPv4Address], tables: frozenset[int]) -> bool:
    if rule.protocol != ROUTE_PROTOCOL or rule.priority not in OWNED_RULE_PRIORITIES:
        return False
    if rule.priority == FROM_POD_RULE_PRIORITY:
        return rule.src not in keep_ips or rule.table not in tables
    if rule.priority == TO_POD_RULE_PRIORITY:
        return rule.dst not in keep_ips
    return rule.table not in tables


def _stale_route(route: FakeRoute, keep_ips: frozenset[IPv4Address], tables: frozenset[int]) -> bool:
    if route.protocol != ROUTE_PROTOCOL:
        return False
    if route.table == MAIN_TABLE:
        return route.dst.prefixlen == 32 and route.dst.network_address not in keep_ips
    return route.table > ENI_TABLE_OFFSET and route.table not in tables


def _by_mac(ns: FakeNamespace, mac: str) -> FakeLink | None:
    return next((link for link in ns.links.values() if link.mac == mac), None)


def _move_link(source: FakeNamespace, target: FakeNamespace, link: FakeLink, ifname: str) -> None:
    """``ip link set <link> netns <target> name <ifname>``: down, addresses and routes through it dropped."""
    del source.links[link.ifname]
    source.routes = {r for r in source.routes if r.oif != link.ifname}
    source.sysctls.pop(f"conf/{link.ifname}/rp_filter", None)
    link.ifname, link.up, link.addresses = ifname, False, set()
    if target is not source:
        link.index = next(target._indexes)
    target.links[ifname] = link
