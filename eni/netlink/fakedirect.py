"""`FakeDirectLinks`: the `DirectEniNetwork` half of `FakeNetwork` (exclusive ENIs moved between namespaces).

A mixin over `FakeNetwork`'s state (its lock, node and pod namespaces, failure queue), so that one fake kernel
serves both the shared-ENI and the exclusive-ENI paths. Links keep their MAC across moves and arrive down and
bare, as with ``ip link set netns``. Must never touch the real kernel.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Collection
from ipaddress import IPv4Network

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.fakestate import MAIN_TABLE, FakeLink, FakeNamespace, FakeRoute
from eni.netlink.types import DirectEniResult, DirectEniSpec, validate_ifname, validate_mac

__all__ = ["FakeDirectLinks"]


class FakeDirectLinks:
    """In-memory `DirectEniNetwork`; mixed into `FakeNetwork`, which owns the attributes declared here."""

    _lock: threading.RLock
    node: FakeNamespace
    namespaces: dict[str, FakeNamespace]

    _enter: Callable[[str], None]
    """Records the call and raises a failure queued by `fail_next`."""

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
