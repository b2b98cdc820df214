"""Forwarding sysctls of a network namespace, written through /proc/sys/net.

/proc/sys/net shows the network namespace of the thread that opens the file (verified on this kernel by
test/netns/netlink/test_sysctl.py), so the files are opened with the calling thread inside the node namespace.
Values are read first and written only when they differ, so enforcing on a loop costs no writes and no churn.
Standard library only; must never write outside /proc/sys/net/ipv4.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from eni.netlink.errors import LinkNotFound, NetlinkError
from eni.netlink.namespace import entered, same_netns
from eni.netlink.types import validate_ifname

__all__ = ["PROC_SYS_IPV4", "forwarding_sysctls", "write_sysctls"]

PROC_SYS_IPV4 = "/proc/sys/net/ipv4"


def forwarding_sysctls(ifnames: Sequence[str]) -> dict[str, str]:
    """The settings a routed-veth node needs, keyed by path under /proc/sys/net/ipv4.

    >>> forwarding_sysctls(["eth1"])["conf/eth1/rp_filter"]
    '0'
    """
    wanted = {"ip_forward": "1", "conf/all/rp_filter": "0", "conf/default/rp_filter": "0"}
    for name in ifnames:
        wanted[f"conf/{validate_ifname(name)}/rp_filter"] = "0"
    return wanted


def write_sysctls(wanted: dict[str, str], *, netns_fd: int) -> int:
    """Make each /proc/sys/net/ipv4/<key> hold its value inside namespace `netns_fd`; returns how many changed.

    Equivalent to ``ip netns exec <ns> sysctl -w net.ipv4.<key>=<value>``. A missing per-interface key raises
    LinkNotFound after every other key was written.
    """
    if same_netns(netns_fd):
        return _write_here(wanted)
    with entered(netns_fd, op="sysctl -w"):
        return _write_here(wanted)


def _write_here(wanted: dict[str, str]) -> int:
    changed = 0
    missing: list[str] = []
    for key, value in wanted.items():
        path = f"{PROC_SYS_IPV4}/{key}"
        try:
            with open(path, "r+", encoding="ascii") as f:
                if f.read().strip() == value:
                    continue
                f.seek(0)
                f.write(value)
            changed += 1
        except FileNotFoundError:
            missing.append(key)
        except OSError as e:
            raise NetlinkError(f"sysctl -w {key}={value}", e.errno or errno.EIO, str(e.strerror)) from e
    if missing:
        names = ", ".join(key.split("/")[1] for key in missing)
        raise LinkNotFound("sysctl -w", errno.ENODEV, f"no such interface for rp_filter: {names}")
    return changed
