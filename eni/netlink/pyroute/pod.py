"""One pod's plumbing with pyroute2: the veth pair, the pod side, the host /32 route and the policy rules.

The hottest path of the product, so every step is one netlink request and nothing is dumped: the veth peer is
created directly inside the pod namespace (IFLA_NET_NS_FD; moving a link costs ~20 ms), both MACs are chosen
here so no read-back of the pod side is needed, the pod side is configured through a socket opened after a
same-thread setns (no fork), and the gateway is answered by a permanent neighbour entry (no ARP).

Node-side requests run on the `NodeExecutor`'s threads inside the node namespace. Must never touch a
link that is not a veth, nor a route or rule without our protocol mark.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from pyroute2 import IPRoute

from eni.netlink.errors import NetlinkError
from eni.netlink.namespace import entered
from eni.netlink.pyroute.calls import (
    IFF_UP,
    NUD_PERMANENT,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_TABLE_MAIN,
    RTNH_F_ONLINK,
    attr,
    call,
    ignoring,
)
from eni.netlink.pyroute.executor import NodeExecutor
from eni.netlink.types import FROM_POD_RULE_PRIORITY, ROUTE_PROTOCOL, TO_POD_RULE_PRIORITY, PodNetResult, PodNetSpec

__all__ = [
    "HostLink",
    "delete_pod_rules",
    "get_link",
    "host_link",
    "link_kind",
    "random_mac",
    "setup_pod",
    "teardown_pod",
]

log = logging.getLogger(__name__)

_GONE = frozenset({errno.ENOENT, errno.ESRCH, errno.ENODEV})
_MAX_DUPLICATE_RULES = 16  # bound on deleting repeated copies of one rule


@dataclass(frozen=True, slots=True)
class HostLink:
    """What the node knows about a link: index, MAC, kind, whether it is up, and (veth) its peer's index."""

    index: int
    ifname: str
    mac: str
    kind: str
    up: bool
    mtu: int
    peer_index: int | None


def random_mac() -> str:
    """A random locally administered unicast MAC.

    >>> int(random_mac().split(":")[0], 16) & 0b11
    2
    """
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFE) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def link_kind(msg: Any) -> str:
    """IFLA_INFO_KIND of a link message ("" for links without one, such as physical NICs)."""
    info = attr(msg, "IFLA_LINKINFO")
    return str(info.get("IFLA_INFO_KIND") or "") if info is not None else ""


def host_link(msg: Any) -> HostLink:
    return HostLink(
        index=int(msg["index"]),
        ifname=str(attr(msg, "IFLA_IFNAME")),
        mac=str(attr(msg, "IFLA_ADDRESS") or ""),
        kind=link_kind(msg),
        up=bool(msg["flags"] & IFF_UP),
        mtu=int(attr(msg, "IFLA_MTU") or 0),
        peer_index=attr(msg, "IFLA_LINK"),
    )


def get_link(ipr: Any, *, ifname: str | None = None, index: int | None = None) -> HostLink | None:
    """``ip link show <ifname>`` (or by index): the link, or None when there is none."""
    op = f"ip link show {ifname if ifname is not None else index}"
    try:
        msgs = call(op, ipr.link, "get", **({"ifname": ifname} if ifname is not None else {"index": index}))
    except NetlinkError as e:
        if e.errno in _GONE:
            return None
        raise
    return host_link(msgs[0])


def setup_pod(node_ops: NodeExecutor, spec: PodNetSpec, pod_fd: int) -> PodNetResult:
    """Build (or re-apply) the pod's network; see `PodNetwork.setup_pod` for the `ip` equivalent."""
    host = node_ops.run(lambda node: get_link(node, ifname=spec.host_ifname))
    if host is not None:
        reused = _reuse(node_ops, spec, host, pod_fd)
        if reused is not None:
            return reused
    return _create(node_ops, spec, pod_fd)


def _reuse(node_ops: NodeExecutor, spec: PodNetSpec, host: HostLink, pod_fd: int) -> PodNetResult | None:
    """Re-apply the configuration on an existing pair; None if the host link is not this pod's veth (removed)."""
    if host.kind != "veth":
        raise NetlinkError(
            f"ip link add {spec.host_ifname}", errno.EEXIST, f"{spec.host_ifname} exists and is not a veth"
        )
    with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), IPRoute(groups=0) as pod:
        peer = get_link(pod, ifname=spec.container_ifname)
        if peer is not None and peer.index == host.peer_index and peer.peer_index == host.index:
            _configure_pod_side(pod, spec, peer_index=peer.index, host_mac=host.mac)
        else:
            peer = None
    if peer is None:
        log.info("Replacing stale veth", extra={"ifname": spec.host_ifname})
        node_ops.run(lambda node: ignoring(_GONE, f"ip link del {spec.host_ifname}", node.link, "del",
                                           index=host.index))
        return None
    container_mac = peer.mac
    node_ops.run(lambda node: _configure_host_side(node, spec, host_index=host.index, container_mac=container_mac))
    return PodNetResult(spec.host_ifname, host.mac, spec.container_ifname, peer.mac, spec.ip, spec.gateway)


def _create(node_ops: NodeExecutor, spec: PodNetSpec, pod_fd: int) -> PodNetResult:
    host_mac, container_mac = random_mac(), random_mac()

    def add(node: Any) -> HostLink | None:
        _add_veth(node, spec, pod_fd, host_mac=host_mac, container_mac=container_mac)
        return get_link(node, ifname=spec.host_ifname)

    host = node_ops.run(add)
    try:
        if host is None or host.peer_index is None:
            raise NetlinkError(f"ip link show {spec.host_ifname}", errno.ENODEV, "veth vanished after creation")
        with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), IPRoute(groups=0) as pod:
            _configure_pod_side(pod, spec, peer_index=host.peer_index, host_mac=host_mac)
        index = host.index
        node_ops.run(lambda node: _configure_host_side(node, spec, host_index=index, container_mac=container_mac))
    except Exception:
        # NB: roll back so a failed ADD leaves nothing behind; the original error is what the caller sees.
        teardown_pod(node_ops, host_ifname=spec.host_ifname, ip=spec.ip)
        raise
    return PodNetResult(spec.host_ifname, host_mac, spec.container_ifname, container_mac, spec.ip, spec.gateway)


def _add_veth(node: Any, spec: PodNetSpec, pod_fd: int, *, host_mac: str, container_mac: str) -> None:
    """``ip link add <host> address <mac> mtu <mtu> up type veth peer name <ctr> address <mac> netns <pod>``."""
    op = f"ip link add {spec.host_ifname} type veth peer name {spec.container_ifname} netns {spec.netns_path}"
    peer = {"ifname": spec.container_ifname, "address": container_mac, "mtu": spec.mtu, "net_ns_fd": pod_fd}
    try:
        call(
            op,
            node.link,
            "add",
            ifname=spec.host_ifname,
            kind="veth",
            address=host_mac,
            mtu=spec.mtu,
            state="up",
            peer=peer,
        )
    except NetlinkError as e:
        if e.errno == errno.EEXIST:
            raise NetlinkError(
                op, e.errno, f"{spec.host_ifname} on the node or {spec.container_ifname} in the pod already exists"
            ) from e
        raise


def _configure_pod_side(pod: Any, spec: PodNetSpec, *, peer_index: int, host_mac: str) -> None:
    """Inside the pod: link up, address /32, on-link gateway, default route, permanent gateway neighbour."""
    dev = spec.container_ifname
    gw = str(spec.gateway)
    call(f"ip link set {dev} up", pod.link, "set", index=peer_index, state="up", mtu=spec.mtu)
    ignoring(
        frozenset({errno.EEXIST}),
        f"ip addr add {spec.ip}/32 dev {dev}",
        pod.addr,
        "add",
        index=peer_index,
        address=str(spec.ip),
        prefixlen=32,
    )
    call(f"ip route replace {gw} dev {dev} scope link", pod.route, "replace",
         dst=f"{gw}/32", oif=peer_index, scope=RT_SCOPE_LINK)
    call(f"ip route replace default via {gw} dev {dev} onlink", pod.route, "replace",
         dst="0.0.0.0/0", gateway=gw, oif=peer_index, flags=RTNH_F_ONLINK)
    call(f"ip neigh replace {gw} lladdr {host_mac} dev {dev} nud permanent", pod.neigh, "replace",
         dst=gw, lladdr=host_mac, ifindex=peer_index, state=NUD_PERMANENT)


def _configure_host_side(node: Any, spec: PodNetSpec, *, host_index: int, container_mac: str) -> None:
    """On the node: permanent neighbour for the pod, the /32 route to the veth, the two policy rules."""
    ip, dev = str(spec.ip), spec.host_ifname
    call(f"ip neigh replace {ip} lladdr {container_mac} dev {dev} nud permanent", node.neigh, "replace",
         dst=ip, lladdr=container_mac, ifindex=host_index, state=NUD_PERMANENT)
    call(f"ip route replace {ip}/32 dev {dev} scope link proto {ROUTE_PROTOCOL}", node.route, "replace",
         dst=f"{ip}/32", oif=host_index, scope=RT_SCOPE_LINK, proto=ROUTE_PROTOCOL, table=RT_TABLE_MAIN)
    exists = frozenset({errno.EEXIST})
    ignoring(exists, f"ip rule add to {ip} lookup main priority {TO_POD_RULE_PRIORITY}", node.rule, "add",
             family=socket.AF_INET, dst=ip, dst_len=32, table=RT_TABLE_MAIN,
             priority=TO_POD_RULE_PRIORITY, protocol=ROUTE_PROTOCOL)
    ignoring(exists, f"ip rule add from {ip} lookup {spec.eni_table} priority {FROM_POD_RULE_PRIORITY}",
             node.rule, "add", family=socket.AF_INET, src=ip, src_len=32, table=spec.eni_table,
             priority=FROM_POD_RULE_PRIORITY, protocol=ROUTE_PROTOCOL)


def teardown_pod(node_ops: NodeExecutor, *, host_ifname: str, ip: IPv4Address) -> None:
    """Remove the rules, the /32 route and the veth pair of one pod; anything already gone is fine."""
    node_ops.run(lambda node: _teardown(node, host_ifname=host_ifname, ip=ip))


def _teardown(node: Any, *, host_ifname: str, ip: IPv4Address) -> None:
    delete_pod_rules(node, ip)
    ignoring(_GONE, f"ip route del {ip}/32 proto {ROUTE_PROTOCOL}", node.route, "del",
             dst=f"{ip}/32", table=RT_TABLE_MAIN, proto=ROUTE_PROTOCOL, scope=RT_SCOPE_NOWHERE)
    host = get_link(node, ifname=host_ifname)
    if host is None:
        return
    if host.kind != "veth":
        log.warning("Not deleting a link that is not a veth", extra={"ifname": host_ifname, "kind": host.kind})
        return
    ignoring(_GONE, f"ip link del {host_ifname}", node.link, "del", index=host.index)


def delete_pod_rules(node: Any, ip: IPv4Address) -> None:
    """``ip rule del from <ip> priority 1536`` and ``ip rule del to <ip> priority 512`` until none is left."""
    for direction, priority in (("src", FROM_POD_RULE_PRIORITY), ("dst", TO_POD_RULE_PRIORITY)):
        selector = {direction: str(ip), f"{direction}_len": 32}
        op = f"ip rule del {'from' if direction == 'src' else 'to'} {ip} priority {priority}"
        for _ in range(_MAX_DUPLICATE_RULES):
            if not ignoring(_GONE, op, node.rule, "del", family=socket.AF_INET, priority=priority,
                            protocol=ROUTE_PROTOCOL, **selector):
                break
