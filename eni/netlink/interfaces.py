"""The seams the agent codes against: a pod's network and the node's ENI plumbing.

Two Protocols rather than one class so the agent's pod path and its node reconciler can be faked separately.
Implementations: `eni.netlink.pyroute.PyrouteNetwork` (the kernel, via pyroute2) and
`eni.netlink.fake.FakeNetwork` (in memory). Both must be thread-safe, act only inside the node's network
namespace they were built for (never the process's own unless that is the node's), and touch only what carries
our marks (`types.ROUTE_PROTOCOL`, `types.OWNED_RULE_PRIORITIES`) or what the caller names explicitly.
Errors: `eni.netlink.errors`; invalid specs raise ValueError before anything changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from ipaddress import IPv4Address
from typing import Protocol

from eni.netlink.types import DirectEniResult, DirectEniSpec, EniSpec, EniState, PodNetResult, PodNetSpec

__all__ = ["DirectEniNetwork", "NodeNetwork", "PodNetwork"]


class PodNetwork(Protocol):
    """Per-pod plumbing: a veth pair between the node and the pod namespace, addresses, routes and rules."""

    def setup_pod(self, spec: PodNetSpec) -> PodNetResult:
        """Build the pod's network; idempotent (the same spec twice gives the same result).

        Equivalent to::

            ip link add <host_ifname> mtu <mtu> type veth peer name <container_ifname> netns <netns_path>
            ip link set <host_ifname> up
            ip neigh replace <ip> lladdr <container mac> dev <host_ifname> nud permanent
            ip route replace <ip>/32 dev <host_ifname> scope link proto 177
            ip rule add to <ip> lookup main priority 512 protocol 177
            ip rule add from <ip> lookup <eni_table> priority 1536 protocol 177
            # inside the pod namespace:
            ip link set <container_ifname> up
            ip addr replace <ip>/32 dev <container_ifname>
            ip route replace <gateway> dev <container_ifname> scope link
            ip route replace default via <gateway> dev <container_ifname> onlink
            ip neigh replace <gateway> lladdr <host mac> dev <container_ifname> nud permanent

        Raises NamespaceNotFound when `netns_path` does not exist and NetlinkError when the kernel refuses
        (e.g. `container_ifname` already exists in the pod and is not our veth); a failed set-up is rolled back.
        """
        ...

    def teardown_pod(self, *, host_ifname: str, ip: IPv4Address, netns_path: str | None) -> None:
        """Remove the pod's veth pair, /32 route and rules; idempotent.

        Equivalent to ``ip rule del from <ip> priority 1536; ip rule del to <ip> priority 512;
        ip route del <ip>/32 proto 177; ip link del <host_ifname>`` (only if it is a veth). Succeeds when the
        namespace, the veth, the route or the rules are already gone.
        """
        ...

    def remove_pod_routes(self, *, ip: IPv4Address) -> None:
        """The first half of `teardown_pod`: the pod's two rules and its /32 route (proto 177); idempotent.

        Once it returns, no traffic is routed to or from `ip` by what we set up; the veth may stay (see
        `delete_host_veth`).
        """
        ...

    def delete_host_veth(self, *, host_ifname: str) -> None:
        """The second half of `teardown_pod`: ``ip link del <host_ifname>`` if it is a veth; idempotent."""
        ...

    def check_pod(self, spec: PodNetSpec) -> list[str]:
        """Compare the pod's network with `spec`: human-readable problems, [] when healthy. Changes nothing."""
        ...


class NodeNetwork(Protocol):
    """Node plumbing: ENIs found by MAC, their route tables and rules, sysctls, and garbage collection."""

    def sync_enis(self, enis: Sequence[EniSpec]) -> list[EniState]:
        """Configure every ENI of `enis` that is present on the node; returns the ones found, in order.

        Per ENI (found by MAC; table = link index + 2000)::

            ip link set <eni> up
            ip addr add <primary_ip>/<prefix> dev <eni> noprefixroute
            ip route replace <subnet> dev <eni> scope link src <primary_ip> table <table> proto 177
            ip route replace default via <gateway> dev <eni> onlink table <table> proto 177
            ip rule add from <primary_ip> lookup <table> priority 1024 protocol 177

        ENIs not (yet) visible on the node are skipped. Repeating the call repairs drift.
        """
        ...

    def enforce_sysctls(self, ifnames: Sequence[str]) -> None:
        """``sysctl -w net.ipv4.ip_forward=1 net.ipv4.conf.{all,default,<ifname>...}.rp_filter=0`` in the node ns.

        Raises LinkNotFound (after writing the rest) when an interface named in `ifnames` does not exist.
        """
        ...

    def ensure_pod_rules(self, rules: Sequence[tuple[IPv4Address, int]]) -> None:
        """For each (pod ip, ENI table): the pod's two policy rules, added when missing (no veth of ours)::

            ip rule add to <ip> lookup main priority 512 protocol 177
            ip rule add from <ip> lookup <table> priority 1536 protocol 177

        Used for pods whose veth another main plugin made (``tke-eni-ipamc`` under ``ptp``) and to repair drift.
        Removal is `PodNetwork.remove_pod_routes`. Invalid pairs raise ValueError before anything changes.
        """
        ...

    def list_pod_rules(self) -> list[tuple[IPv4Address, int]]:
        """``ip rule show priority 1536 protocol 177``: (pod ip, table) of every pod rule we own."""
        ...

    def remove_stale(self, *, keep_pod_ips: Collection[IPv4Address], keep_tables: Collection[int]) -> int:
        """Delete what we own and no longer need; returns how many rules and routes were removed.

        Removed: pod rules whose ip is not in `keep_pod_ips` or whose table is not in `keep_tables`; `to <ip>`
        rules and main-table /32 routes (proto 177) of ips not kept; ENI rules and routes (proto 177) of tables not
        kept. Never touches a rule or route without our protocol mark, nor any link.
        """
        ...


class DirectEniNetwork(Protocol):
    """Exclusive ENIs: a whole ENI link (found by MAC) moved into one pod's namespace and back.

    A free exclusive ENI sits in the node's namespace, down and without addresses; it never gets a route table
    or policy rules (those are `NodeNetwork.sync_enis`' for shared ENIs). Every method finds the link by MAC
    wherever it is, so a call repeated after a crash converges instead of failing.
    """

    def node_links(self) -> dict[str, str]:
        """``ip link show`` in the node namespace: the name of every link, keyed by lower-case MAC."""
        ...

    def attach_direct(self, spec: DirectEniSpec) -> DirectEniResult:
        """Move the ENI into the pod and configure it; idempotent (a link already in the pod is re-configured).

        Equivalent to::

            ip link set <node name> netns <netns_path> name <ifname>     # one RTM_NEWLINK
            # inside the pod namespace:
            ip link set <ifname> up
            ip addr replace <address> dev <ifname>                    # primary ip/subnet prefix
            ip route replace default via <gateway> dev <ifname>

        Raises NamespaceNotFound when the pod namespace is gone, LinkNotFound when no link has the MAC in the
        node or the pod namespace, and NetlinkError (EEXIST) when another link is named `ifname` in the pod.
        """
        ...

    def detach_direct(self, *, mac: str, netns_path: str | None, node_ifname: str) -> bool:
        """Move the ENI back into the node namespace as `node_ifname`, down, its addresses flushed; idempotent.

        Equivalent to ``ip -n <pod> link set <ifname> down; ip -n <pod> link set <ifname> netns <node> name
        <node_ifname>; ip addr flush dev <node_ifname>``. A link already in the node namespace is only brought
        into that shape (kept under its name when `node_ifname` is taken). Returns whether the link is in the node
        namespace afterwards: False when it is in neither namespace (e.g. it went with a deleted namespace).
        """
        ...

    def check_direct(self, spec: DirectEniSpec) -> list[str]:
        """Compare the pod's ENI with `spec`: human-readable problems, [] when healthy. Changes nothing."""
        ...

    def find_direct(self, macs: Collection[str]) -> dict[str, str]:
        """The namespaces other than the node's that hold a link with one of `macs`: MAC -> namespace path.

        Looks through the named namespaces (``ip netns list``: where container runtimes keep pod sandboxes), in a
        bounded number; for recovery of ENIs whose ADD never completed. Changes nothing.
        """
        ...
