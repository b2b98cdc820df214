"""The node path against the real kernel: ENIs by MAC, their tables and rules, and stale-state removal."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from eni.netlink.types import EniSpec


def _link(ns: Any, ifname: str) -> dict[str, Any]:
    [info] = json.loads(ns.ip("-j", "-s", "link", "show", ifname))
    return dict(info)


def test_sync_enis_configures_table_rule_and_address(node: Any) -> None:
    ns = node.pair.node
    link = _link(ns, "eni0")
    assert node.eni.index == link["ifindex"] and node.eni.table == link["ifindex"] + 2000
    assert "UP" in link["flags"]
    assert "10.20.0.2/24" in ns.ip("-4", "addr", "show", "eni0") and "noprefixroute" in ns.ip("addr")
    table = ns.ip("route", "show", "table", str(node.eni.table))
    assert "default via 10.20.0.1 dev eni0 proto 177 onlink" in table
    assert "10.20.0.0/24 dev eni0 proto 177 scope link src 10.20.0.2" in table
    assert f"1024:\tfrom 10.20.0.2 lookup {node.eni.table} proto 177" in ns.ip("rule")
    assert ns.ping("10.20.0.1", source="10.20.0.2")


def test_sync_enis_repairs_drift_and_skips_absent_enis(node: Any) -> None:
    ns = node.pair.node
    ns.ip("route", "del", "default", "table", str(node.eni.table))
    ns.ip("rule", "del", "priority", "1024")
    ns.ip("link", "set", "eni0", "down")
    absent = EniSpec(mac="02:00:0a:14:00:99", primary_ip=IPv4Address("10.20.1.2"),
                     subnet=IPv4Network("10.20.1.0/24"), gateway=IPv4Address("10.20.1.1"))

    states = node.network.sync_enis([absent, node.eni_spec])

    assert states == [node.eni]
    assert "default via 10.20.0.1" in ns.ip("route", "show", "table", str(node.eni.table))
    assert "1024:" in ns.ip("rule") and "UP" in _link(ns, "eni0")["flags"]


def test_pod_traffic_uses_its_own_eni(node: Any) -> None:
    second = node.pair.add_eni(mac="02:00:0a:15:00:05", subnet="10.21.0.0/24")
    spec2 = EniSpec(mac=second.mac, primary_ip=second.primary_ip, subnet=second.subnet, gateway=second.gateway)
    _, eni1 = node.network.sync_enis([node.eni_spec, spec2])
    node.network.enforce_sysctls(["eni0", "eni1"])
    pod = node.new_pod_ns()
    spec = node.pod_spec("10.21.0.20", host_ifname="vethb20", netns_path=pod.path)
    spec = type(spec)(**{**{f: getattr(spec, f) for f in spec.__slots__}, "eni_table": eni1.table})
    node.network.setup_pod(spec)
    node.pair.route_to_pod(spec.ip, second)
    # IPv6 would send its own packets (router solicitations, MLD) on the ENIs and blur the counters.
    node.pair.node.run("sysctl", "-q", "-w", "net.ipv6.conf.eni0.disable_ipv6=1", "net.ipv6.conf.eni1.disable_ipv6=1")
    tx0 = {name: _link(node.pair.node, name)["stats64"]["tx"]["packets"] for name in ("eni0", "eni1")}

    assert pod.ping(node.pair.remote_ip)

    tx1 = {name: _link(node.pair.node, name)["stats64"]["tx"]["packets"] for name in ("eni0", "eni1")}
    assert tx1["eni1"] > tx0["eni1"] and tx1["eni0"] == tx0["eni0"]


def test_remove_stale_removes_only_what_we_own_and_do_not_keep(node: Any) -> None:
    ns, table = node.pair.node, str(node.eni.table)
    ns.ip("rule", "add", "from", "10.99.0.1", "lookup", table, "priority", "1536")
    ns.ip("rule", "add", "to", "10.99.0.1", "lookup", "main", "priority", "512", "protocol", "static")
    ns.ip("route", "add", "10.99.0.1/32", "dev", "eni0")
    ns.ip("route", "add", "10.98.0.0/16", "via", "10.20.0.1", "dev", "eni0", "table", table, "proto", "static")
    kept, dropped = node.new_pod_ns(), node.new_pod_ns()
    node.network.setup_pod(node.pod_spec("10.20.0.30", host_ifname="vethk30", netns_path=kept.path))
    node.network.setup_pod(node.pod_spec("10.20.0.31", host_ifname="vethd31", netns_path=dropped.path))
    assert sorted(node.network.list_pod_rules()) == [(IPv4Address("10.20.0.30"), node.eni.table),
                                                     (IPv4Address("10.20.0.31"), node.eni.table)]
    keep = [IPv4Address("10.20.0.30")]

    assert node.network.remove_stale(keep_pod_ips=keep, keep_tables=[node.eni.table]) == 3
    assert node.network.remove_stale(keep_pod_ips=keep, keep_tables=[node.eni.table]) == 0

    rules, main = ns.ip("rule"), ns.ip("route")
    assert "10.20.0.31" not in rules + main and "10.20.0.30" in rules and "10.20.0.30 dev vethk30" in main
    assert node.network.list_pod_rules() == [(IPv4Address("10.20.0.30"), node.eni.table)]
    # Dropping the ENI table too removes its rule and routes and the kept pod's `from` rule, nothing foreign.
    assert node.network.remove_stale(keep_pod_ips=keep, keep_tables=[]) == 4
    rules, routes = ns.ip("rule"), ns.ip("route", "show", "table", "all")
    assert f"from 10.99.0.1 lookup {table}" in rules and "to 10.99.0.1 lookup main proto static" in rules
    assert "10.99.0.1 dev eni0" in routes and "10.98.0.0/16 via 10.20.0.1 dev eni0 table" in routes
    assert "proto 177" not in routes.replace("10.20.0.30 dev vethk30 proto 177", "")
