"""Forwarding sysctls: /proc/sys/net follows the opening thread's namespace, and we write only the node's."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from eni.netlink.errors import LinkNotFound
from eni.netlink.namespace import entered
from eni.netlink.pyroute import PyrouteNetwork


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def _sysctl(ns: Any, key: str) -> str:
    return str(ns.run("sysctl", "-n", key).stdout.strip())


def test_proc_sys_net_reflects_the_thread_namespace_at_open(netns_factory: Any) -> None:
    ns = netns_factory("sysctl")
    host_before = _read("/proc/sys/net/ipv4/conf/default/rp_filter")
    wanted = "2" if _sysctl(ns, "net.ipv4.conf.default.rp_filter") != "2" else "1"
    seen: list[str] = []

    def in_namespace() -> None:
        fd = os.open(ns.path, os.O_RDONLY)
        try:
            with entered(fd, op="test"):
                with open("/proc/sys/net/ipv4/conf/default/rp_filter", "w", encoding="ascii") as f:
                    f.write(wanted)
                seen.append(_read("/proc/sys/net/ipv4/conf/default/rp_filter"))
        finally:
            os.close(fd)

    worker = threading.Thread(target=in_namespace)
    worker.start()
    worker.join(timeout=10)

    assert seen == [wanted]
    assert _sysctl(ns, "net.ipv4.conf.default.rp_filter") == wanted
    assert _read("/proc/sys/net/ipv4/conf/default/rp_filter") == host_before


def test_enforce_sysctls_sets_forwarding_in_the_node_only(node_vpc_pair: Any) -> None:
    pair = node_vpc_pair()
    ns = pair.node
    ns.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=0", "net.ipv4.conf.all.rp_filter=1",
           "net.ipv4.conf.default.rp_filter=2", "net.ipv4.conf.eni0.rp_filter=1")
    host_before = [_read(f"/proc/sys/net/ipv4/{k}") for k in ("ip_forward", "conf/all/rp_filter")]

    with PyrouteNetwork(ns.name) as network:
        network.enforce_sysctls(["eni0"])
        network.enforce_sysctls(["eni0"])
        with pytest.raises(LinkNotFound):
            network.enforce_sysctls(["eni0", "nosuch0"])
        with pytest.raises(ValueError):
            network.enforce_sysctls(["../all"])

    assert _sysctl(ns, "net.ipv4.ip_forward") == "1"
    for key in ("all", "default", "eni0"):
        assert _sysctl(ns, f"net.ipv4.conf.{key}.rp_filter") == "0"
    assert [_read(f"/proc/sys/net/ipv4/{k}") for k in ("ip_forward", "conf/all/rp_filter")] == host_before
