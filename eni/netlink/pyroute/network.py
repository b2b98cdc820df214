"""`PyrouteNetwork`: the kernel implementation of `PodNetwork` and `NodeNetwork` for one node namespace.

Everything happens in the node's network namespace given at construction (a name, a path, or None for the
namespace the process runs in), on worker threads that live there (`NodeExecutor`); a pod namespace is entered
by the calling thread only for the duration of one request. Thread-safe. Must never act in the process's own
namespace when it is not the node's, and never leave a thread inside a pod namespace.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Sequence
from ipaddress import IPv4Address
from types import TracebackType

from eni.netlink.errors import NamespaceNotFound
from eni.netlink.interfaces import NodeNetwork, PodNetwork
from eni.netlink.namespace import close_netns, netns_path, open_netns
from eni.netlink.pyroute import check, node, pod
from eni.netlink.pyroute.executor import NodeExecutor
from eni.netlink.pyroute.rtnl import RtnlPool
from eni.netlink.sysctl import forwarding_sysctls, write_sysctls
from eni.netlink.types import EniSpec, EniState, PodNetResult, PodNetSpec, validate_ifname, validate_pod_rules

__all__ = ["PyrouteNetwork"]

log = logging.getLogger(__name__)


class PyrouteNetwork:
    """Pod and node plumbing through pyroute2 inside one node network namespace.

    `node_netns` is an `ip netns` name or a namespace path; None means the process's namespace at construction.
    Holds the namespace open, `workers` daemon threads living in it (node path: dumps, ENIs, GC) and up to
    `pool_size` batched rtnetlink sockets (pod path); `timeout` bounds every wait. Close it (or use it as a
    context manager) to release all of them.
    """

    def __init__(
        self, node_netns: str | None = None, *, workers: int = 1, pool_size: int = 4, timeout: float = 30.0
    ) -> None:
        path = "/proc/self/ns/net" if node_netns is None else netns_path(node_netns)
        self.node_netns_path = path
        self._node_fd = open_netns(path, op="open node namespace")
        self._pool = RtnlPool(self._node_fd, size=pool_size, timeout=timeout)  # opens sockets lazily
        try:
            self._executor = NodeExecutor(self._node_fd, workers=workers, timeout=timeout)
        except Exception:
            os.close(self._node_fd)
            raise
        self._close_lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> PyrouteNetwork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the node sockets and the node namespace reference; idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()
        self._executor.close()
        os.close(self._node_fd)

    # PodNetwork

    def setup_pod(self, spec: PodNetSpec) -> PodNetResult:
        """See `PodNetwork.setup_pod`."""
        pod_fd = open_netns(spec.netns_path, op=f"setup pod {spec.ip}")
        try:
            return pod.setup_pod(self._pool, spec, pod_fd)
        finally:
            close_netns(pod_fd)

    def teardown_pod(self, *, host_ifname: str, ip: IPv4Address, netns_path: str | None) -> None:
        """See `PodNetwork.teardown_pod`. The pod end dies with its host end, so `netns_path` is not needed."""
        validate_ifname(host_ifname, what="host interface name")
        if not isinstance(ip, IPv4Address):
            raise ValueError(f"pod ip must be an IPv4Address, got {ip!r}")
        pod.teardown_pod(self._pool, host_ifname=host_ifname, ip=ip)

    def remove_pod_routes(self, *, ip: IPv4Address) -> None:
        """See `PodNetwork.remove_pod_routes`."""
        if not isinstance(ip, IPv4Address):
            raise ValueError(f"pod ip must be an IPv4Address, got {ip!r}")
        pod.remove_pod_routes(self._pool, ip=ip)

    def delete_host_veth(self, *, host_ifname: str) -> None:
        """See `PodNetwork.delete_host_veth`."""
        validate_ifname(host_ifname, what="host interface name")
        pod.delete_host_veth(self._pool, host_ifname=host_ifname)

    def check_pod(self, spec: PodNetSpec) -> list[str]:
        """See `PodNetwork.check_pod`."""
        try:
            pod_fd: int | None = open_netns(spec.netns_path, op=f"check pod {spec.ip}")
        except NamespaceNotFound:
            pod_fd = None
        try:
            return check.check_pod(self._executor, spec, pod_fd)
        finally:
            if pod_fd is not None:
                os.close(pod_fd)

    # NodeNetwork

    def sync_enis(self, enis: Sequence[EniSpec]) -> list[EniState]:
        """See `NodeNetwork.sync_enis`."""
        return self._executor.run(lambda ipr: node.sync_enis(ipr, enis))

    def enforce_sysctls(self, ifnames: Sequence[str]) -> None:
        """See `NodeNetwork.enforce_sysctls`."""
        changed = write_sysctls(forwarding_sysctls(ifnames), netns_fd=self._node_fd)
        if changed:
            log.info("Set forwarding sysctls", extra={"changed": changed})

    def ensure_pod_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        """See `NodeNetwork.ensure_pod_rules`."""
        pod.ensure_pod_rules(self._pool, validate_pod_rules(rules))

    def list_pod_rules(self) -> list[tuple[IPv4Address, int]]:
        """See `NodeNetwork.list_pod_rules`."""
        return self._executor.run(node.list_pod_rules)

    def remove_stale(self, *, keep_pod_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> int:
        """See `NodeNetwork.remove_stale`."""
        return self._executor.run(
            lambda ipr: node.remove_stale(ipr, keep_pod_ips=keep_pod_ips, keep_tables=keep_tables)
        )


def _implements_both_protocols(network: PyrouteNetwork) -> tuple[PodNetwork, NodeNetwork]:
    """Never called: mypy checks here that `PyrouteNetwork` satisfies both Protocols (Go's `var _ X = &y{}`)."""
    return network, network
