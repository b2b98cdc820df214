"""One pod's plumbing: the veth pair, the pod side, the host /32 route and the policy rules.

The hottest path of the product, so it costs three batched netlink exchanges and no dump: (1) on the node,
create the veth pair with the peer created directly inside the pod namespace (IFLA_NET_NS_FD; moving a link
costs ~20 ms) and read the host end back; (2) in the pod, through a socket opened after a same-thread setns
(no fork): link up, address, on-link gateway, default route, permanent gateway neighbour (no ARP); (3) on the
node: neighbour, /32 route and the two rules. Both MACs are chosen here, so nothing in the pod is read back.

Must never delete a link that is not a veth, nor a route or rule without our protocol mark.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
from collections.abc import Sequence
from ipaddress import IPv4Address

from pyroute2.netlink import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from eni.netlink.errors import NetlinkError
from eni.netlink.namespace import entered
from eni.netlink.pyroute.kernel import (
    FR_ACT_TO_TBL,
    IFF_UP,
    NUD_PERMANENT,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_DELRULE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
    RTM_NEWRULE,
    RTN_UNICAST,
    RTNH_F_ONLINK,
    RTPROT_STATIC,
)
from eni.netlink.pyroute.rtnl import HostLink, Request, RtnlPool, RtnlSocket, get_link_request, host_link
from eni.netlink.types import FROM_POD_RULE_PRIORITY, ROUTE_PROTOCOL, TO_POD_RULE_PRIORITY, PodNetResult, PodNetSpec

__all__ = ["delete_host_veth", "ensure_pod_rules", "random_mac", "remove_pod_routes", "setup_pod", "teardown_pod"]

log = logging.getLogger(__name__)

_REPLACE = NLM_F_CREATE | NLM_F_REPLACE
_ADD = NLM_F_CREATE | NLM_F_EXCL
_GONE = frozenset({errno.ENOENT, errno.ESRCH, errno.ENODEV})
_MAX_ATTEMPTS = 2  # create, and once more after removing a stale host veth of the same name
_MAX_DUPLICATE_RULE_ROUNDS = 8
_ONE_QUEUE = (("IFLA_NUM_TX_QUEUES", 1), ("IFLA_NUM_RX_QUEUES", 1))
_RULES_PER_BATCH = 128


# NB: a generator seeded once from the kernel, not os.urandom per MAC: that system call releases the interpreter
# lock on the pod path, where another thread then holds it. A MAC needs to be unlikely to repeat, not secret.
_MACS = random.Random(os.urandom(32))


def random_mac() -> str:
    """A random locally administered unicast MAC.

    >>> int(random_mac().split(":")[0], 16) & 0b11
    2
    """
    octets = bytearray(_MACS.getrandbits(48).to_bytes(6, "big"))
    octets[0] = (octets[0] & 0xFE) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def setup_pod(pool: RtnlPool, spec: PodNetSpec, pod_fd: int) -> PodNetResult:
    """Build (or re-apply) the pod's network; see `PodNetwork.setup_pod` for the `ip` equivalent."""
    for _ in range(_MAX_ATTEMPTS):
        host_mac, container_mac = random_mac(), random_mac()
        with pool.lease() as node:
            added, got = node.run(_add_veth(spec, pod_fd, host_mac=host_mac, container_mac=container_mac),
                                  get_link_request(ifname=spec.host_ifname))
        if added.errno == 0:
            if got.message is None:
                raise NetlinkError(f"ip link show {spec.host_ifname}", errno.ENODEV, "veth vanished after creation")
            return _configure_new(pool, spec, pod_fd, host_link(got.message), container_mac)
        reused = _reuse(pool, spec, pod_fd, None if got.message is None else host_link(got.message))
        if reused is not None:
            return reused
    raise NetlinkError(f"ip link add {spec.host_ifname}", errno.EEXIST, "host veth keeps reappearing")


def _configure_new(pool: RtnlPool, spec: PodNetSpec, pod_fd: int, host: HostLink, container_mac: str) -> PodNetResult:
    try:
        if host.peer_index is None:
            raise NetlinkError(f"ip link show {spec.host_ifname}", errno.ENODEV, "veth has no peer")
        with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), RtnlSocket() as pod:
            pod.run(*_pod_side(spec, peer_index=host.peer_index, host_mac=host.mac))
        with pool.lease() as node:
            node.run(*_host_side(spec, host_index=host.index, container_mac=container_mac))
    except Exception:
        # NB: roll back so a failed ADD leaves nothing behind; the original error is what the caller sees.
        teardown_pod(pool, host_ifname=spec.host_ifname, ip=spec.ip)
        raise
    return PodNetResult(spec.host_ifname, host.mac, spec.container_ifname, container_mac, spec.ip, spec.gateway)


def _reuse(pool: RtnlPool, spec: PodNetSpec, pod_fd: int, host: HostLink | None) -> PodNetResult | None:
    """The veth could not be created: re-apply an existing pair of this pod, or clear a stale host end (None)."""
    if host is None:
        raise NetlinkError(f"ip link add {spec.host_ifname} type veth peer name {spec.container_ifname}",
                           errno.EEXIST, f"{spec.container_ifname} already exists in the pod namespace")
    if host.kind != "veth":
        raise NetlinkError(f"ip link add {spec.host_ifname}", errno.EEXIST,
                           f"{spec.host_ifname} exists and is not a veth")
    with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), RtnlSocket() as pod:
        peer = pod.get_link(ifname=spec.container_ifname)
        ours = peer is not None and peer.index == host.peer_index and peer.peer_index == host.index
        if peer is not None and ours:
            pod.run(*_pod_side(spec, peer_index=peer.index, host_mac=host.mac))
    if peer is None or not ours:
        log.info("Replacing stale veth", extra={"ifname": spec.host_ifname})
        with pool.lease() as node:
            node.run(Request(f"ip link del {spec.host_ifname}", ifinfmsg, RTM_DELLINK,
                             fields={"index": host.index}, ok=_GONE))
        return None
    with pool.lease() as node:
        node.run(*_host_side(spec, host_index=host.index, container_mac=peer.mac))
    return PodNetResult(spec.host_ifname, host.mac, spec.container_ifname, peer.mac, spec.ip, spec.gateway)


def _add_veth(spec: PodNetSpec, pod_fd: int, *, host_mac: str, container_mac: str) -> Request:
    """``ip link add <host> address <mac> mtu <mtu> numtxqueues 1 numrxqueues 1 up type veth peer name <ctr>
    address <mac> numtxqueues 1 numrxqueues 1 netns <pod>``.

    One queue each way is what a veth ends up with anyway; without asking for it, the kernel first creates a
    queue (and its sysfs entries) per possible CPU and then removes all but one: a hundred on a large node.
    """
    peer = {"attrs": [("IFLA_IFNAME", spec.container_ifname), ("IFLA_ADDRESS", container_mac),
                      ("IFLA_MTU", spec.mtu), *_ONE_QUEUE, ("IFLA_NET_NS_FD", pod_fd)]}
    linkinfo = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]})]}
    return Request(
        f"ip link add {spec.host_ifname} type veth peer name {spec.container_ifname} netns {spec.netns_path}",
        ifinfmsg, RTM_NEWLINK, _ADD, fields={"flags": IFF_UP, "change": IFF_UP},
        attrs=[("IFLA_IFNAME", spec.host_ifname), ("IFLA_ADDRESS", host_mac), ("IFLA_MTU", spec.mtu), *_ONE_QUEUE,
               ("IFLA_LINKINFO", linkinfo)],
        ok=frozenset({errno.EEXIST}),
    )


def _pod_side(spec: PodNetSpec, *, peer_index: int, host_mac: str) -> list[Request]:
    """Inside the pod: link up, address /32, on-link gateway, default route, permanent gateway neighbour."""
    dev, ip, gw = spec.container_ifname, str(spec.ip), str(spec.gateway)
    route = {"family": socket.AF_INET, "table": RT_TABLE_MAIN, "proto": RTPROT_STATIC, "type": RTN_UNICAST}
    return [
        Request(f"ip link set {dev} mtu {spec.mtu} up", ifinfmsg, RTM_NEWLINK,
                fields={"index": peer_index, "flags": IFF_UP, "change": IFF_UP}, attrs=[("IFLA_MTU", spec.mtu)]),
        Request(f"ip addr replace {ip}/32 dev {dev}", ifaddrmsg, RTM_NEWADDR, _REPLACE,
                fields={"family": socket.AF_INET, "prefixlen": 32, "index": peer_index},
                attrs=[("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]),
        Request(f"ip route replace {gw} dev {dev} scope link", rtmsg, RTM_NEWROUTE, _REPLACE,
                fields={**route, "dst_len": 32, "scope": RT_SCOPE_LINK},
                attrs=[("RTA_DST", gw), ("RTA_OIF", peer_index)]),
        Request(f"ip route replace default via {gw} dev {dev} onlink", rtmsg, RTM_NEWROUTE, _REPLACE,
                fields={**route, "dst_len": 0, "scope": RT_SCOPE_UNIVERSE, "flags": RTNH_F_ONLINK},
                attrs=[("RTA_GATEWAY", gw), ("RTA_OIF", peer_index)]),
        Request(f"ip neigh replace {gw} lladdr {host_mac} dev {dev} nud permanent", ndmsg, RTM_NEWNEIGH, _REPLACE,
                fields={"family": socket.AF_INET, "ifindex": peer_index, "state": NUD_PERMANENT},
                attrs=[("NDA_DST", gw), ("NDA_LLADDR", host_mac)]),
    ]


def _host_side(spec: PodNetSpec, *, host_index: int, container_mac: str) -> list[Request]:
    """On the node: permanent neighbour for the pod, the /32 route to the veth, the two policy rules."""
    ip, dev = str(spec.ip), spec.host_ifname
    return [
        Request(f"ip neigh replace {ip} lladdr {container_mac} dev {dev} nud permanent", ndmsg, RTM_NEWNEIGH,
                _REPLACE, fields={"family": socket.AF_INET, "ifindex": host_index, "state": NUD_PERMANENT},
                attrs=[("NDA_DST", ip), ("NDA_LLADDR", container_mac)]),
        Request(f"ip route replace {ip}/32 dev {dev} scope link proto {ROUTE_PROTOCOL}", rtmsg, RTM_NEWROUTE,
                _REPLACE, fields={"family": socket.AF_INET, "dst_len": 32, "table": RT_TABLE_MAIN,
                                  "proto": ROUTE_PROTOCOL, "scope": RT_SCOPE_LINK, "type": RTN_UNICAST},
                attrs=[("RTA_DST", ip), ("RTA_OIF", host_index)]),
        *_pod_rules(spec.ip, spec.eni_table),
    ]


def _pod_rules(pod_ip: IPv4Address, table: int) -> list[Request]:
    """The pod's two policy rules: replies and node-local traffic via main, its own traffic via its ENI."""
    ip, exists = str(pod_ip), frozenset({errno.EEXIST})
    return [
        Request(f"ip rule add to {ip} lookup main priority {TO_POD_RULE_PRIORITY}", fibmsg, RTM_NEWRULE, _ADD,
                fields={"family": socket.AF_INET, "dst_len": 32, "table": RT_TABLE_MAIN, "action": FR_ACT_TO_TBL},
                attrs=[("FRA_DST", ip), ("FRA_PRIORITY", TO_POD_RULE_PRIORITY), ("FRA_PROTOCOL", ROUTE_PROTOCOL),
                       ("FRA_TABLE", RT_TABLE_MAIN)], ok=exists),
        Request(f"ip rule add from {ip} lookup {table} priority {FROM_POD_RULE_PRIORITY}", fibmsg, RTM_NEWRULE,
                _ADD, fields={"family": socket.AF_INET, "src_len": 32, "action": FR_ACT_TO_TBL},
                attrs=[("FRA_SRC", ip), ("FRA_PRIORITY", FROM_POD_RULE_PRIORITY), ("FRA_PROTOCOL", ROUTE_PROTOCOL),
                       ("FRA_TABLE", table)], ok=exists),
    ]


def _delete_rule(ip: IPv4Address, *, outgoing: bool) -> Request:
    direction, priority = ("src", FROM_POD_RULE_PRIORITY) if outgoing else ("dst", TO_POD_RULE_PRIORITY)
    return Request(f"ip rule del {'from' if outgoing else 'to'} {ip} priority {priority} protocol {ROUTE_PROTOCOL}",
                   fibmsg, RTM_DELRULE, fields={"family": socket.AF_INET, f"{direction}_len": 32},
                   attrs=[(f"FRA_{direction.upper()}", str(ip)), ("FRA_PRIORITY", priority),
                          ("FRA_PROTOCOL", ROUTE_PROTOCOL)], ok=_GONE)


def teardown_pod(pool: RtnlPool, *, host_ifname: str, ip: IPv4Address) -> None:
    """Remove the rules, the /32 route and the veth pair of one pod; anything already gone is fine."""
    remove_pod_routes(pool, ip=ip)
    delete_host_veth(pool, host_ifname=host_ifname)


def remove_pod_routes(pool: RtnlPool, *, ip: IPv4Address) -> None:
    """Remove the pod's two rules and its /32 route (proto 177); the veth, if any, stays.

    Rules are deleted twice per round (the second normally answers ENOENT) so duplicates left by an earlier
    crash go too, in a bounded number of rounds.
    """
    route_del = Request(f"ip route del {ip}/32 proto {ROUTE_PROTOCOL}", rtmsg, RTM_DELROUTE,
                        fields={"family": socket.AF_INET, "dst_len": 32, "table": RT_TABLE_MAIN,
                                "proto": ROUTE_PROTOCOL, "scope": RT_SCOPE_NOWHERE},
                        attrs=[("RTA_DST", str(ip))], ok=_GONE)
    rules = [_delete_rule(ip, outgoing=True), _delete_rule(ip, outgoing=True),
             _delete_rule(ip, outgoing=False), _delete_rule(ip, outgoing=False)]
    with pool.lease() as node:
        *deleted, _ = node.run(*rules, route_del)
        for _ in range(_MAX_DUPLICATE_RULE_ROUNDS):
            if deleted[1].errno and deleted[3].errno:
                break
            deleted = node.run(*rules)


def delete_host_veth(pool: RtnlPool, *, host_ifname: str) -> None:
    """``ip link del <host_ifname>`` when it is a veth (its pod end goes with it); gone already is fine."""
    with pool.lease() as node:
        (got,) = node.run(get_link_request(ifname=host_ifname))
        if got.message is None:
            return
        host = host_link(got.message)
        if host.kind != "veth":
            log.warning("Not deleting a link that is not a veth", extra={"ifname": host_ifname, "kind": host.kind})
            return
        node.run(Request(f"ip link del {host_ifname}", ifinfmsg, RTM_DELLINK, fields={"index": host.index}, ok=_GONE))


def ensure_pod_rules(pool: RtnlPool, rules: Sequence[tuple[IPv4Address, int]]) -> None:
    """``ip rule add to <ip> lookup main`` and ``from <ip> lookup <table>`` for each pair; present ones are kept."""
    requests = [r for ip, table in rules for r in _pod_rules(ip, table)]
    for start in range(0, len(requests), _RULES_PER_BATCH):
        with pool.lease() as node:
            node.run(*requests[start:start + _RULES_PER_BATCH])
