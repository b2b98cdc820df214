"""`PyrouteDirectLinks`: the kernel implementation of `DirectEniNetwork` (exclusive ENIs) for one node namespace.

An exclusive ENI is a whole link moved into one pod's namespace: name and namespace change in one RTM_NEWLINK
(the kernel moves the link, then renames it there), then the pod side gets the link up, the primary address
with the subnet's prefix and a default route via the subnet gateway. Moving back is the same message aimed at
the node namespace; the kernel takes the link down and drops its addresses on the way, and we make sure of both.
Links are always found by MAC, so each call picks up where a crashed one stopped.

Not on the shared-ENI hot path: dumps use `IPRoute` opened inside the target namespace on the calling thread
(same-thread setns, no fork), except the link lists of `node_links` and of the namespace scan, which read raw
RTM_GETLINK dumps (`linkmsg`) because a node may hold hundreds of pod namespaces; changes go through `RtnlSocket`
batches. One move at a time (a lock): two moves of one link racing each other could leave it anywhere.
Must never touch a link whose MAC the caller did not name, nor leave the calling thread in a foreign namespace
(`entered` switches back).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_CREATE, NLM_F_REPLACE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.namespace import NETNS_RUN_DIR, entered, netns_path, open_netns, same_netns
from eni.netlink.pyroute.calls import attr, call
from eni.netlink.pyroute.kernel import (
    IFF_UP,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTN_UNICAST,
    RTPROT_STATIC,
)
from eni.netlink.pyroute.linkmsg import parse_link
from eni.netlink.pyroute.node import links_by_mac
from eni.netlink.pyroute.rtnl import HostLink, Request, RtnlSocket, host_link
from eni.netlink.types import DirectEniResult, DirectEniSpec, validate_ifname, validate_mac

__all__ = ["PyrouteDirectLinks"]

log = logging.getLogger(__name__)

RTM_DELADDR = 21
_REPLACE = NLM_F_CREATE | NLM_F_REPLACE
_FALLBACK_NAME = "eni%d"
"""Kernel name pattern for a link moved back whose original name is taken meanwhile."""
DEFAULT_MAX_SCAN = 1024
_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_ZERO_MAC = "00:00:00:00:00:00"


class PyrouteDirectLinks:
    """Exclusive ENIs of the node namespace `node_netns` (a name, a path, or None for the process's own)."""

    def __init__(self, node_netns: str | None = None, *, netns_dir: str = NETNS_RUN_DIR,
                 max_scan: int = DEFAULT_MAX_SCAN, timeout: float = 10.0) -> None:
        path = "/proc/self/ns/net" if node_netns is None else netns_path(node_netns)
        self.node_netns_path = path
        self._node_fd = open_netns(path, op="open node namespace")
        self._netns_dir = netns_dir
        self._max_scan = max_scan
        self._timeout = timeout
        self._lock = threading.Lock()  # one move at a time
        self._closed = False

    def __enter__(self) -> PyrouteDirectLinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the node namespace reference; idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._node_fd)

    # DirectEniNetwork

    def node_links(self) -> dict[str, str]:
        """See `DirectEniNetwork.node_links`."""
        if self._closed:
            raise NetlinkError("netlink", errno.EBADF, "the network handle is closed")
        return _link_names(self._node_fd, "<node>", timeout=self._timeout)

    def attach_direct(self, spec: DirectEniSpec) -> DirectEniResult:
        """See `DirectEniNetwork.attach_direct`."""
        pod_fd = open_netns(spec.netns_path, op=f"attach ENI {spec.mac}")
        try:
            with self._lock:
                self._move_into_pod(spec, pod_fd)
                with entered(pod_fd, op=f"ip netns exec {spec.netns_path}"), RtnlSocket(timeout=self._timeout) as pod:
                    link = pod.get_link(ifname=spec.ifname)
                    if link is None or link.mac != spec.mac:
                        raise LinkNotFound(f"ip -n {spec.netns_path} link show {spec.ifname}",
                                           message=f"ENI {spec.mac} is not {spec.ifname} in the pod after the move")
                    pod.run(*_pod_side(spec, link.index))
                return DirectEniResult(ifname=spec.ifname, mac=spec.mac)
        finally:
            os.close(pod_fd)

    def detach_direct(self, *, mac: str, netns_path: str | None, node_ifname: str) -> bool:
        """See `DirectEniNetwork.detach_direct`."""
        mac = validate_mac(mac)
        validate_ifname(node_ifname, what="node interface name")
        with self._lock:
            if netns_path:
                self._move_back(mac, netns_path, node_ifname)
            with self._dumping(self._node_fd, "<node>") as ipr:
                link = links_by_mac(ipr).get(mac)
                if link is None:
                    return False
                self._park(ipr, link, node_ifname)
            return True

    def check_direct(self, spec: DirectEniSpec) -> list[str]:
        """See `DirectEniNetwork.check_direct`."""
        try:
            pod_fd = open_netns(spec.netns_path, op=f"check ENI {spec.mac}")
        except NamespaceNotFound:
            return [f"pod network namespace {spec.netns_path} not found"]
        try:
            with self._dumping(pod_fd, spec.netns_path) as ipr:
                return _check_pod_side(ipr, spec)
        finally:
            os.close(pod_fd)

    def find_direct(self, macs: Collection[str]) -> dict[str, str]:
        """See `DirectEniNetwork.find_direct`."""
        wanted = {validate_mac(m) for m in macs}
        found: dict[str, str] = {}
        if not wanted:
            return found
        try:
            names = sorted(os.listdir(self._netns_dir))[: self._max_scan]
        except OSError:
            return found
        node = os.fstat(self._node_fd)
        for name in names:
            path = os.path.join(self._netns_dir, name)
            try:
                fd = open_netns(path, op=f"scan {path}")
            except NetlinkError:
                continue
            try:
                theirs = os.fstat(fd)
                if (theirs.st_dev, theirs.st_ino) == (node.st_dev, node.st_ino):
                    continue
                for mac in _link_names(fd, path, timeout=self._timeout).keys() & wanted:
                    found.setdefault(mac, path)
            except NetlinkError as e:
                log.debug("Skipping a namespace that cannot be read", extra={"netns": path, "error": str(e)})
            finally:
                os.close(fd)
        return found

    # internals

    @contextmanager
    def _dumping(self, fd: int, where: str) -> Iterator[Any]:
        """An `IPRoute` opened (and closed) inside the namespace `fd` on the calling thread."""
        if self._closed:
            raise NetlinkError("netlink", errno.EBADF, "the network handle is closed")
        if same_netns(fd):
            with call(f"ip netns exec {where}", IPRoute, groups=0) as ipr:
                yield ipr
            return
        with entered(fd, op=f"ip netns exec {where}"), call(f"ip netns exec {where}", IPRoute, groups=0) as ipr:
            yield ipr

    def _move_into_pod(self, spec: DirectEniSpec, pod_fd: int) -> None:
        """The link with the spec's MAC, as `spec.ifname` in the pod: moved there, or renamed if already there."""
        with self._dumping(pod_fd, spec.netns_path) as ipr:
            links = links_by_mac(ipr)
            there = links.get(spec.mac)
            taken = next((link for link in links.values() if link.ifname == spec.ifname), None)
            if there is not None:
                if there.ifname != spec.ifname:
                    if taken is not None:
                        raise NetlinkError(f"ip link set {there.ifname} name {spec.ifname}", errno.EEXIST,
                                           f"{spec.ifname} already exists in the pod namespace")
                    # NB: the kernel renames only a link that is down.
                    call(f"ip link set {there.ifname} down", ipr.link, "set", index=there.index, state="down")
                    call(f"ip link set {there.ifname} name {spec.ifname}", ipr.link, "set", index=there.index,
                         ifname=spec.ifname)
                return
            if taken is not None or _named(ipr, spec.ifname):
                raise NetlinkError(f"ip link set netns {spec.netns_path} name {spec.ifname}", errno.EEXIST,
                                   f"{spec.ifname} already exists in the pod namespace")
        with self._dumping(self._node_fd, "<node>") as ipr:
            link = links_by_mac(ipr).get(spec.mac)
        if link is None:
            raise LinkNotFound(f"ip link show address {spec.mac}",
                               message=f"no link with MAC {spec.mac} in the node or the pod namespace")
        with self._node_socket() as node:
            node.run(_move(link.index, pod_fd, spec.ifname,
                           op=f"ip link set {link.ifname} netns {spec.netns_path} name {spec.ifname}"))
        log.info("Moved an exclusive ENI into a pod", extra={"mac": spec.mac, "netns": spec.netns_path})

    def _move_back(self, mac: str, path: str, node_ifname: str) -> None:
        try:
            pod_fd = open_netns(path, op=f"detach ENI {mac}")
        except NamespaceNotFound:
            return
        try:
            with self._dumping(pod_fd, path) as ipr:
                link = links_by_mac(ipr).get(mac)
            if link is None:
                return
            with entered(pod_fd, op=f"ip netns exec {path}"), RtnlSocket(timeout=self._timeout) as pod:
                pod.run(_set_up(link.index, up=False, op=f"ip link set {link.ifname} down"))
                for name in (node_ifname, _FALLBACK_NAME):
                    try:
                        pod.run(_move(link.index, self._node_fd, name,
                                      op=f"ip link set {link.ifname} netns <node> name {name}"))
                        break
                    except NetlinkError as e:
                        if e.errno != errno.EEXIST:
                            raise
                        # NB: the kernel moves before it renames, so EEXIST may come after a completed move.
                        if pod.get_link(index=link.index) is None:
                            break
                still = pod.get_link(index=link.index)
                if still is not None and still.mac == mac:
                    raise NetlinkError(f"ip link set {link.ifname} netns <node>", errno.EEXIST,
                                       f"ENI {mac} cannot be moved back: its names are taken in the node namespace")
            log.info("Moved an exclusive ENI back to the node", extra={"mac": mac, "netns": path})
        finally:
            os.close(pod_fd)

    def _park(self, ipr: Any, link: HostLink, node_ifname: str) -> None:
        """A free ENI in the node namespace: down, under its own name when that is free, without addresses."""
        if link.up:
            call(f"ip link set {link.ifname} down", ipr.link, "set", index=link.index, state="down")
        if link.ifname != node_ifname and not _named(ipr, node_ifname):
            call(f"ip link set {link.ifname} name {node_ifname}", ipr.link, "set", index=link.index,
                 ifname=node_ifname)
        for msg in call(f"ip -4 addr show dev {node_ifname}", ipr.addr, "dump", family=socket.AF_INET):
            if msg["index"] != link.index:
                continue
            address = attr(msg, "IFA_LOCAL") or attr(msg, "IFA_ADDRESS")
            call(f"ip addr del {address}/{msg['prefixlen']} dev {node_ifname}", ipr.addr, "del",
                 index=link.index, address=address, prefixlen=msg["prefixlen"])

    @contextmanager
    def _node_socket(self) -> Iterator[RtnlSocket]:
        if same_netns(self._node_fd):
            with RtnlSocket(timeout=self._timeout) as sock:
                yield sock
            return
        with entered(self._node_fd, op="ip netns exec <node>"), RtnlSocket(timeout=self._timeout) as sock:
            yield sock


def _named(ipr: Any, ifname: str) -> bool:
    try:
        call(f"ip link show {ifname}", ipr.link, "get", ifname=ifname)
    except NetlinkError as e:
        if e.errno in (errno.ENODEV, errno.ENOENT):
            return False
        raise
    return True


def _move(index: int, netns_fd: int, ifname: str, *, op: str) -> Request:
    """``ip link set <index> netns <fd> name <ifname>`` as one RTM_NEWLINK."""
    return Request(op, ifinfmsg, RTM_NEWLINK, fields={"index": index},
                   attrs=[("IFLA_NET_NS_FD", netns_fd), ("IFLA_IFNAME", ifname)])


def _set_up(index: int, *, up: bool, op: str) -> Request:
    return Request(op, ifinfmsg, RTM_NEWLINK, fields={"index": index, "flags": IFF_UP if up else 0, "change": IFF_UP})


def _pod_side(spec: DirectEniSpec, index: int) -> list[Request]:
    """Inside the pod: link up, the primary address with its prefix, the default route via the gateway."""
    dev, ip, gw = spec.ifname, str(spec.address.ip), str(spec.gateway)
    prefix = spec.address.network.prefixlen
    return [
        _set_up(index, up=True, op=f"ip link set {dev} up"),
        Request(f"ip addr replace {spec.address} dev {dev}", ifaddrmsg, RTM_NEWADDR, _REPLACE,
                fields={"family": socket.AF_INET, "prefixlen": prefix, "index": index},
                attrs=[("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]),
        Request(f"ip route replace default via {gw} dev {dev}", rtmsg, RTM_NEWROUTE, _REPLACE,
                fields={"family": socket.AF_INET, "dst_len": 0, "table": RT_TABLE_MAIN, "proto": RTPROT_STATIC,
                        "scope": RT_SCOPE_UNIVERSE, "type": RTN_UNICAST},
                attrs=[("RTA_GATEWAY", gw), ("RTA_OIF", index)]),
    ]


def _check_pod_side(ipr: Any, spec: DirectEniSpec) -> list[str]:
    dev = spec.ifname
    try:
        msgs = call(f"ip link show {dev}", ipr.link, "get", ifname=dev)
    except NetlinkError as e:
        if e.errno in (errno.ENODEV, errno.ENOENT):
            return [f"{dev} not found in the pod namespace"]
        raise
    link = host_link(msgs[0])
    problems: list[str] = []
    if link.mac.lower() != spec.mac:
        problems.append(f"{dev} in the pod is not ENI {spec.mac} (its MAC is {link.mac})")
    if not link.up:
        problems.append(f"{dev} in the pod is down")
    addrs = {(attr(m, "IFA_ADDRESS"), m["prefixlen"])
             for m in call(f"ip -4 addr show dev {dev}", ipr.addr, "dump", family=socket.AF_INET)
             if m["index"] == link.index}
    if (str(spec.address.ip), spec.address.network.prefixlen) not in addrs:
        problems.append(f"address {spec.address} missing on {dev}")
    gateway = str(spec.gateway)
    if not any(m["dst_len"] == 0 and attr(m, "RTA_GATEWAY") == gateway and attr(m, "RTA_OIF") == link.index
               for m in call("ip -4 route show", ipr.route, "dump", family=socket.AF_INET, table=RT_TABLE_MAIN)):
        problems.append(f"default route via {gateway} dev {dev} missing in the pod")
    return problems



def _link_names(fd: int, where: str, *, timeout: float) -> dict[str, str]:
    """``ip link show`` in the namespace `fd`: link names by lower-case MAC, from one raw RTM_GETLINK dump."""
    op = f"ip -n {where} link show"
    with contextlib.ExitStack() as stack:
        if not same_netns(fd):
            stack.enter_context(entered(fd, op=f"ip netns exec {where}"))
        sock = stack.enter_context(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        try:
            return _dump_links(sock, timeout=timeout)
        except OSError as e:
            raise NetlinkError(op, e.errno or errno.EIO, f"link dump failed: {e}") from e
        except ValueError as e:
            raise NetlinkError(op, errno.EBADMSG, f"malformed link dump: {e}") from e


def _dump_links(sock: socket.socket, *, timeout: float) -> dict[str, str]:
    seq = 1
    body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    sock.bind((0, 0))
    sock.sendall(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETLINK, _NLM_F_REQUEST | _NLM_F_DUMP, seq, 0) + body)
    deadline = time.monotonic() + timeout
    names: dict[str, str] = {}
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(errno.ETIMEDOUT, "no end of the link dump")
        sock.settimeout(left)
        data = sock.recv(1 << 16)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, kind, _, got_seq, _ = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                raise ValueError("netlink message shorter than its header")
            message = data[offset:offset + length]
            offset += (length + 3) & ~3
            if got_seq != seq:
                continue
            if kind == _NLMSG_DONE:
                return names
            if kind == _NLMSG_ERROR:
                code = -struct.unpack_from("=i", message, _NLMSGHDR.size)[0]
                raise OSError(code, os.strerror(code))
            if kind == RTM_NEWLINK:
                link = parse_link(message)
                if link.mac and link.mac != _ZERO_MAC:
                    names.setdefault(link.mac.lower(), link.ifname)
