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
from ipaddress import IPv4Address, IPv4Network

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.fakedirect import FakeDirectLinks
from eni.netlink.fakestate import MAIN_TABLE, FakeLink, FakeNamespace, FakeRoute, FakeRule, random_mac
from eni.netlink.types import (
    ENI_RULE_PRIORITY,
    ENI_TABLE_OFFSET,
    FROM_POD_RULE_PRIORITY,
    OWNED_RULE_PRIORITIES,
    ROUTE_PROTOCOL,
    TO_POD_RULE_PRIORITY,
    EniSpec,
    EniState,
    PodNetResult,
    PodNetSpec,
    eni_table,
    validate_ifname,
    validate_pod_rules,
)

__all__ = ["FakeLink", "FakeNamespace", "FakeNetwork", "FakeRoute", "FakeRule", "MAIN_TABLE"]


class FakeNetwork(FakeDirectLinks):
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
            host = self.node.add_link(spec.host_ifname, random_mac(next(self._macs)), kind="veth", up=True)
            peer = pod.add_link(spec.container_ifname, random_mac(next(self._macs)), kind="veth")
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
