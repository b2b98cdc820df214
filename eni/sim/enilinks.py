"""Where the simulated ENIs are: the links in a namespace whose veth peer sits in the VPC router.

Every ENI of the local cluster is a veth whose far end is in the router namespace, so a link in a node or pod
namespace is an ENI exactly when ``ip`` reports its peer namespace as the router. An exclusive (direct) ENI
lives in the node namespace while it is free and in one pod's namespace while that pod holds it.

``return_to_node`` stands in for the kernel: when a network namespace is destroyed, a physical NIC in it goes
back to the host's root namespace (renamed ``devN`` if its name is taken there), while a veth is destroyed. A
sim ENI is a veth, so the kubelet stand-in calls this after CNI DEL and before it deletes a pod namespace, so
that an ENI the plugins left behind survives as a real one would. It only ever moves links whose peer is the
router, from a namespace the caller names to the node namespace it names; nothing here touches the host
namespace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eni.sim.iproute import SimNetError, ip_in, netns_exists

log = logging.getLogger(__name__)

MAX_DEV_NAMES = 256


@dataclass(frozen=True, slots=True)
class EniLink:
    """An ENI link as seen in one namespace."""

    netns: str
    ifname: str
    mac: str
    up: bool
    addresses: tuple[str, ...] = ()
    """IPv4 addresses with prefix length, e.g. ``10.0.1.7/24``."""


def _link_lines(netns: str) -> list[str]:
    return ip_in(netns, "-o", "link", "show", check=False).splitlines()


def eni_links(netns: str, *, router: str) -> list[EniLink]:
    """The ENI links in ``netns`` (none when it does not exist), with their IPv4 addresses."""
    if not netns_exists(netns):
        return []
    found = []
    for line in _link_lines(netns):
        fields = line.replace("\\", " ").split()
        if "link-netns" not in fields or fields[fields.index("link-netns") + 1] != router:
            continue
        if "link/ether" not in fields or len(fields) < 3:
            continue
        ifname = fields[1].rstrip(":").split("@")[0]
        flags = fields[2].strip("<>").split(",")
        found.append(EniLink(netns=netns, ifname=ifname, mac=fields[fields.index("link/ether") + 1].lower(),
                             up="UP" in flags, addresses=_addresses(netns, ifname)))
    return found


def _addresses(netns: str, ifname: str) -> tuple[str, ...]:
    out = ip_in(netns, "-o", "-4", "addr", "show", "dev", ifname, check=False)
    addresses = []
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            addresses.append(fields[fields.index("inet") + 1])
    return tuple(addresses)


def link_names(netns: str) -> set[str]:
    """Every link name in ``netns``."""
    names = set()
    for line in _link_lines(netns):
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.add(parts[1].strip().split("@")[0])
    return names


def return_to_node(pod_netns: str, *, node_netns: str, router: str) -> list[str]:
    """Move every ENI link of ``pod_netns`` to ``node_netns`` as the kernel would; the names it got there.

    The link arrives down, without addresses (a namespace move flushes them), under its own name or, when that
    is taken in the node namespace, the first free ``devN``. SimNetError if a move fails.
    """
    moved = []
    for link in eni_links(pod_netns, router=router):
        taken = link_names(node_netns)
        name = link.ifname if link.ifname not in taken else _free_dev_name(taken)
        ip_in(pod_netns, "link", "set", link.ifname, "down")
        if name != link.ifname:
            ip_in(pod_netns, "link", "set", link.ifname, "name", name)
        ip_in(pod_netns, "link", "set", name, "netns", node_netns)
        log.warning("ENI link %s (%s) was still in %s when it was deleted: back in %s as %s, as a physical NIC "
                    "would be", link.ifname, link.mac, pod_netns, node_netns, name)
        moved.append(name)
    return moved


def _free_dev_name(taken: set[str]) -> str:
    for n in range(MAX_DEV_NAMES):
        if f"dev{n}" not in taken:
            return f"dev{n}"
    raise SimNetError(f"no free devN name among {len(taken)} links")
