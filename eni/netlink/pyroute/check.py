"""Read-only health check of one pod's plumbing (CNI CHECK and the agent's drift detection).

Compares what the kernel has with a `PodNetSpec` and describes each difference in a short sentence an operator
can act on. Dumps routes and rules, so it is slower than set-up; it is not on the ADD path. Must never change
anything.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from pyroute2 import IPRoute

from eni.netlink.errors import NetlinkError
from eni.netlink.namespace import entered
from eni.netlink.pyroute.calls import attr, call
from eni.netlink.pyroute.executor import NodeExecutor
from eni.netlink.pyroute.kernel import NUD_PERMANENT, RT_TABLE_MAIN
from eni.netlink.pyroute.node import get_link, owned_rules
from eni.netlink.pyroute.rtnl import HostLink
from eni.netlink.types import FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY, PodNetSpec

__all__ = ["check_pod"]


def check_pod(node_ops: NodeExecutor, spec: PodNetSpec, pod_fd: int | None) -> list[str]:
    """Problems with the pod's network, [] when it matches `spec`; `pod_fd` None means the namespace is gone."""

    def check_host(node: Any) -> tuple[HostLink | None, list[str]]:
        host = get_link(node, ifname=spec.host_ifname)
        return host, _check_host(node, spec, host)

    host, problems = node_ops.run(check_host)
    if pod_fd is None:
        return [*problems, f"pod network namespace {spec.netns_path} not found"]
    with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), IPRoute(groups=0) as pod:
        problems += _check_pod_side(pod, spec, host)
    return problems


def _check_host(node: Any, spec: PodNetSpec, host: HostLink | None) -> list[str]:
    problems: list[str] = []
    ip = spec.ip
    if host is None:
        problems.append(f"host veth {spec.host_ifname} not found")
    elif host.kind != "veth":
        problems.append(f"host link {spec.host_ifname} is a {host.kind or 'device'}, not a veth")
    else:
        if not host.up:
            problems.append(f"host veth {spec.host_ifname} is down")
        if host.mtu != spec.mtu:
            problems.append(f"host veth {spec.host_ifname} has mtu {host.mtu}, want {spec.mtu}")
        if not _has_host_route(node, spec, host.index):
            problems.append(f"route {ip}/32 dev {spec.host_ifname} missing from the main table")
    rules = [r for r in owned_rules(node) if ip in (r.src, r.dst)]
    if not any(r.priority == TO_POD_RULE_PRIORITY and r.dst == ip and r.table == RT_TABLE_MAIN for r in rules):
        problems.append(f"rule 'to {ip} lookup main' (priority {TO_POD_RULE_PRIORITY}) missing")
    if not any(r.priority == FROM_POD_RULE_PRIORITY and r.src == ip and r.table == spec.eni_table for r in rules):
        problems.append(f"rule 'from {ip} lookup {spec.eni_table}' (priority {FROM_POD_RULE_PRIORITY}) missing")
    for r in rules:
        if r.priority == FROM_POD_RULE_PRIORITY and r.src == ip and r.table != spec.eni_table:
            problems.append(f"extra rule 'from {ip} lookup {r.table}', want table {spec.eni_table}")
    return problems


def _has_host_route(node: Any, spec: PodNetSpec, host_index: int) -> bool:
    for msg in call("ip -4 route show table main", node.route, "dump", family=socket.AF_INET, table=RT_TABLE_MAIN):
        if attr(msg, "RTA_DST") == str(spec.ip) and msg["dst_len"] == 32 and attr(msg, "RTA_OIF") == host_index:
            return True
    return False


def _check_pod_side(pod: Any, spec: PodNetSpec, host: HostLink | None) -> list[str]:
    dev = spec.container_ifname
    peer = get_link(pod, ifname=dev)
    if peer is None:
        return [f"{dev} not found in the pod namespace"]
    problems: list[str] = []
    if host is not None and (peer.index != host.peer_index or peer.peer_index != host.index):
        problems.append(f"{dev} in the pod is not the peer of host veth {spec.host_ifname}")
    if not peer.up:
        problems.append(f"{dev} in the pod is down")
    addrs = {
        (attr(m, "IFA_ADDRESS"), m["prefixlen"])
        for m in call(f"ip -4 addr show dev {dev}", pod.addr, "dump", family=socket.AF_INET)
        if m["index"] == peer.index
    }
    if (str(spec.ip), 32) not in addrs:
        problems.append(f"address {spec.ip}/32 missing on {dev}")
    problems += _check_pod_routes(pod, spec, peer.index)
    problems += _check_gateway_neighbour(pod, spec, peer.index, host)
    return problems


def _check_pod_routes(pod: Any, spec: PodNetSpec, index: int) -> list[str]:
    gw = str(spec.gateway)
    has_gw = has_default = False
    for m in call("ip -4 route show", pod.route, "dump", family=socket.AF_INET, table=RT_TABLE_MAIN):
        if attr(m, "RTA_OIF") != index:
            continue
        if m["dst_len"] == 32 and attr(m, "RTA_DST") == gw:
            has_gw = True
        if m["dst_len"] == 0 and attr(m, "RTA_GATEWAY") == gw:
            has_default = True
    problems = [] if has_gw else [f"route {gw} dev {spec.container_ifname} scope link missing in the pod"]
    if not has_default:
        problems.append(f"default route via {gw} missing in the pod")
    return problems


def _check_gateway_neighbour(pod: Any, spec: PodNetSpec, index: int, host: HostLink | None) -> list[str]:
    gw = str(spec.gateway)
    try:
        neighbours = call("ip neigh show", pod.neigh, "dump", family=socket.AF_INET)
    except NetlinkError as e:
        if e.errno != errno.ENOENT:
            raise
        neighbours = ()
    for m in neighbours:
        if m["ifindex"] == index and attr(m, "NDA_DST") == gw:
            if not m["state"] & NUD_PERMANENT:
                return [f"neighbour {gw} in the pod is not permanent"]
            if host is not None and str(attr(m, "NDA_LLADDR") or "").lower() != host.mac.lower():
                return [f"neighbour {gw} in the pod does not point at {spec.host_ifname}'s MAC"]
            return []
    return [f"permanent neighbour {gw} missing in the pod"]
