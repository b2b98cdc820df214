"""Node plumbing with pyroute2: ENIs found by MAC, their route tables and rules, and removal of stale state.

Not on the per-pod path: these functions dump links, rules and routes freely. Ownership is decided only by our
marks (route protocol `ROUTE_PROTOCOL`, rule priorities `OWNED_RULE_PRIORITIES` with the same protocol), so
another agent's or the operator's routes and rules are never changed. Must never delete a link.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from eni.netlink.errors import NetlinkError
from eni.netlink.pyroute.calls import attr, call, ignoring
from eni.netlink.pyroute.kernel import (
    IFA_F_NOPREFIXROUTE,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_TABLE_MAIN,
    RTNH_F_ONLINK,
)
from eni.netlink.pyroute.rtnl import HostLink, host_link
from eni.netlink.types import (
    ENI_RULE_PRIORITY,
    ENI_TABLE_OFFSET,
    FROM_POD_RULE_PRIORITY,
    OWNED_RULE_PRIORITIES,
    ROUTE_PROTOCOL,
    TO_POD_RULE_PRIORITY,
    EniSpec,
    EniState,
    eni_table,
)

__all__ = [
    "OwnedRoute",
    "OwnedRule",
    "get_link",
    "list_pod_rules",
    "links_by_mac",
    "owned_routes",
    "owned_rules",
    "remove_stale",
    "sync_eni",
    "sync_enis",
]

log = logging.getLogger(__name__)

_GONE = frozenset({errno.ENOENT, errno.ESRCH, errno.ENODEV})


@dataclass(frozen=True, slots=True)
class OwnedRule:
    """A policy rule carrying our protocol mark at one of our priorities."""

    priority: int
    src: IPv4Address | None
    dst: IPv4Address | None
    table: int


@dataclass(frozen=True, slots=True)
class OwnedRoute:
    """An IPv4 route carrying our protocol mark."""

    table: int
    dst: str
    dst_len: int
    oif: int | None


def get_link(ipr: Any, *, ifname: str) -> HostLink | None:
    """``ip link show <ifname>`` through an `IPRoute`: the link, or None when there is none."""
    try:
        msgs = call(f"ip link show {ifname}", ipr.link, "get", ifname=ifname)
    except NetlinkError as e:
        if e.errno in _GONE:
            return None
        raise
    return host_link(msgs[0])


def links_by_mac(ipr: Any) -> dict[str, HostLink]:
    """``ip link show``, keyed by lower-case MAC."""
    found: dict[str, HostLink] = {}
    for msg in call("ip link show", ipr.link, "dump"):
        link = host_link(msg)
        if link.mac and link.mac != "00:00:00:00:00:00":
            found.setdefault(link.mac.lower(), link)
    return found


def sync_eni(ipr: Any, spec: EniSpec, link: HostLink) -> EniState:
    """Bring one ENI up and give it its address, route table and rule; see `NodeNetwork.sync_enis`."""
    dev, table, primary = link.ifname, eni_table(link.index), str(spec.primary_ip)
    if not link.up:
        call(f"ip link set {dev} up", ipr.link, "set", index=link.index, state="up")
    ignoring(frozenset({errno.EEXIST}), f"ip addr add {primary}/{spec.subnet.prefixlen} dev {dev} noprefixroute",
             ipr.addr, "add", index=link.index, address=primary, prefixlen=spec.subnet.prefixlen,
             flags=IFA_F_NOPREFIXROUTE)
    call(f"ip route replace {spec.subnet} dev {dev} src {primary} table {table}", ipr.route, "replace",
         dst=str(spec.subnet), oif=link.index, scope=RT_SCOPE_LINK, prefsrc=primary, table=table,
         proto=ROUTE_PROTOCOL)
    call(f"ip route replace default via {spec.gateway} dev {dev} onlink table {table}", ipr.route, "replace",
         dst="0.0.0.0/0", gateway=str(spec.gateway), oif=link.index, flags=RTNH_F_ONLINK, table=table,
         proto=ROUTE_PROTOCOL)
    ignoring(frozenset({errno.EEXIST}), f"ip rule add from {primary} lookup {table} priority {ENI_RULE_PRIORITY}",
             ipr.rule, "add", family=socket.AF_INET, src=primary, src_len=32, table=table,
             priority=ENI_RULE_PRIORITY, protocol=ROUTE_PROTOCOL)
    return EniState(mac=spec.mac, ifname=dev, index=link.index, table=table)


def sync_enis(ipr: Any, enis: Sequence[EniSpec]) -> list[EniState]:
    """`sync_eni` for every ENI whose MAC is on the node; the missing ones are logged and skipped."""
    links = links_by_mac(ipr)
    states: list[EniState] = []
    for spec in enis:
        link = links.get(spec.mac)
        if link is None:
            log.info("ENI not on the node yet", extra={"mac": spec.mac})
            continue
        states.append(sync_eni(ipr, spec, link))
    return states


def _address(msg: Any, name: str, length: int) -> IPv4Address | None:
    value = attr(msg, name)
    return IPv4Address(value) if value is not None and length == 32 else None


def owned_rules(ipr: Any) -> list[OwnedRule]:
    """``ip -4 rule show protocol 177``, restricted to our priorities."""
    rules: list[OwnedRule] = []
    for msg in call("ip -4 rule show", ipr.rule, "dump", family=socket.AF_INET):
        priority = attr(msg, "FRA_PRIORITY")
        if attr(msg, "FRA_PROTOCOL") != ROUTE_PROTOCOL or priority not in OWNED_RULE_PRIORITIES:
            continue
        rules.append(OwnedRule(
            priority=int(priority),
            src=_address(msg, "FRA_SRC", msg["src_len"]),
            dst=_address(msg, "FRA_DST", msg["dst_len"]),
            table=int(attr(msg, "FRA_TABLE") or msg["table"]),
        ))
    return rules


def owned_routes(ipr: Any) -> list[OwnedRoute]:
    """``ip -4 route show table all proto 177``."""
    routes: list[OwnedRoute] = []
    for msg in call("ip -4 route show table all", ipr.route, "dump", family=socket.AF_INET):
        if msg["proto"] != ROUTE_PROTOCOL:
            continue
        routes.append(OwnedRoute(
            table=int(attr(msg, "RTA_TABLE") or msg["table"]),
            dst=str(attr(msg, "RTA_DST") or "0.0.0.0"),
            dst_len=int(msg["dst_len"]),
            oif=attr(msg, "RTA_OIF"),
        ))
    return routes


def _rule_is_stale(rule: OwnedRule, keep_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> bool:
    if rule.priority == FROM_POD_RULE_PRIORITY:
        return rule.src not in keep_ips or rule.table not in keep_tables
    if rule.priority == TO_POD_RULE_PRIORITY:
        return rule.dst not in keep_ips
    return rule.table not in keep_tables


def _route_is_stale(route: OwnedRoute, keep_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> bool:
    if route.table == RT_TABLE_MAIN:
        return route.dst_len == 32 and IPv4Address(route.dst) not in keep_ips
    return route.table > ENI_TABLE_OFFSET and route.table not in keep_tables


def remove_stale(ipr: Any, *, keep_pod_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> int:
    """Delete our rules and routes that are no longer wanted; see `NodeNetwork.remove_stale`."""
    keep_ips, tables = frozenset(keep_pod_ips), frozenset(keep_tables)
    removed = 0
    for rule in owned_rules(ipr):
        if not _rule_is_stale(rule, keep_ips, tables):
            continue
        selector: dict[str, Any] = {}
        if rule.src is not None:
            selector.update(src=str(rule.src), src_len=32)
        if rule.dst is not None:
            selector.update(dst=str(rule.dst), dst_len=32)
        removed += ignoring(_GONE, f"ip rule del priority {rule.priority} table {rule.table}", ipr.rule, "del",
                            family=socket.AF_INET, priority=rule.priority, table=rule.table,
                            protocol=ROUTE_PROTOCOL, **selector)
    for route in owned_routes(ipr):
        if not _route_is_stale(route, keep_ips, tables):
            continue
        removed += ignoring(_GONE, f"ip route del {route.dst}/{route.dst_len} table {route.table}", ipr.route,
                            "del", dst=f"{route.dst}/{route.dst_len}", table=route.table, proto=ROUTE_PROTOCOL,
                            scope=RT_SCOPE_NOWHERE, **({"oif": route.oif} if route.oif is not None else {}))
    if removed:
        log.info("Removed stale rules and routes", extra={"count": removed})
    return removed


def list_pod_rules(ipr: Any) -> list[tuple[IPv4Address, int]]:
    """(pod ip, table) of every `from <ip> lookup <table>` rule we own."""
    return [(r.src, r.table) for r in owned_rules(ipr) if r.priority == FROM_POD_RULE_PRIORITY and r.src is not None]
