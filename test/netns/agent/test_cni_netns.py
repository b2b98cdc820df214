"""The plugins exec'd as a runtime does, inside a node namespace, against the real agent and kernel:
addresses, routes and rules; pod -> VPC traffic through the ENI; CHECK; DEL twice; chained with Debian's
portmap; tke-eni-ipamc under Debian's ptp."""

import json
from ipaddress import IPv4Address

import pytest

from eni.netlink.types import FROM_POD_RULE_PRIORITY

REFERENCE = "/usr/lib/cni"


def pod_ip(result):
    return result["ips"][0]["address"].split("/")[0]


def test_pod_network_end_to_end(node_agent, netns_factory):
    agent = node_agent
    pod = netns_factory("pod")
    rc, result, stderr = agent.exec("tke-route-eni", "ADD", agent.conf(), container="c1", netns=pod.path)
    assert rc == 0, (result, stderr)
    ip = pod_ip(result)
    assert ip.startswith("10.20.0.")
    host_ifname = result["interfaces"][0]["name"]
    assert result["interfaces"][1] == {"name": "eth0", "mac": result["interfaces"][1]["mac"], "sandbox": pod.path}

    assert f"inet {ip}/32" in pod.ip("-4", "addr", "show", "dev", "eth0")
    assert "default via 169.254.1.1 dev eth0" in pod.ip("route", "show")
    rules = agent.pair.node.ip("rule", "show")
    assert f"{FROM_POD_RULE_PRIORITY}:\tfrom {ip} lookup " in rules
    assert f"{ip} dev {host_ifname}" in agent.pair.node.ip("route", "show")

    agent.pair.route_to_pod(ip, agent.eni)
    assert pod.ping(agent.eni.gateway), "pod cannot reach the VPC gateway"
    assert pod.ping(agent.pair.remote_ip), "pod cannot reach a VPC address beyond the ENI"

    assert agent.exec("tke-route-eni", "CHECK", agent.conf(), container="c1", netns=pod.path)[:2] == (0, None)
    agent.pair.node.ip("route", "del", f"{ip}/32", "dev", host_ifname)
    rc, error, _ = agent.exec("tke-route-eni", "CHECK", agent.conf(), container="c1", netns=pod.path)
    assert rc == 1 and error["code"] == 102 and ip in error["msg"]

    for _ in range(2):
        assert agent.exec("tke-route-eni", "DEL", agent.conf(), container="c1", netns=pod.path)[:2] == (0, None)
    assert host_ifname not in agent.pair.node.ip("link", "show")
    assert f"from {ip} " not in agent.pair.node.ip("rule", "show")
    assert agent.service.ledger.allocations() == []


def test_del_succeeds_after_the_pod_namespace_is_gone(node_agent, netns_factory):
    agent = node_agent
    pod = netns_factory("pod")
    rc, result, _ = agent.exec("tke-route-eni", "ADD", agent.conf(), container="c2", netns=pod.path)
    assert rc == 0
    netns_factory.delete(pod)
    assert agent.exec("tke-route-eni", "DEL", agent.conf(), container="c2", netns=pod.path)[:2] == (0, None)
    assert agent.service.ledger.allocations() == []


def run_chain(agent, command, *, container, netns, runtime_config, prev=None, conflist=None):
    """Executes a conflist (default: the installed one) as libcni does: prevResult flows from plugin to plugin,
    in reverse order on DEL; capabilities the plugin declares get their runtimeConfig entries."""
    if conflist is None:
        conflist = json.loads((agent.settings.cni_conf_dir / agent.settings.conflist_name).read_text())
    plugins = conflist["plugins"] if command == "ADD" else list(reversed(conflist["plugins"]))
    result = prev
    for plugin in plugins:
        conf = dict(plugin, cniVersion=conflist["cniVersion"], name=conflist["name"])
        wanted = {k: v for k, v in runtime_config.items() if plugin.get("capabilities", {}).get(k)}
        if wanted:
            conf["runtimeConfig"] = wanted
        if result is not None:
            conf["prevResult"] = result
        ours = plugin["type"].startswith("tke-")
        exe = str(agent.bin_dir / plugin["type"]) if ours else f"{REFERENCE}/{plugin['type']}"
        rc, out, stderr = agent.exec(exe, command, conf, container=container, netns=netns)
        assert rc == 0, (plugin["type"], out, stderr)
        if command == "ADD":
            result = out
    return result


def test_chained_with_portmap(node_agent, netns_factory):
    agent = node_agent
    pod = netns_factory("pod")
    mappings = [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]
    result = run_chain(agent, "ADD", container="c3", netns=pod.path, runtime_config={"portMappings": mappings})
    ip = pod_ip(result)
    nat = agent.pair.node.run("iptables-save", "-t", "nat").stdout
    assert f"{ip}:80" in nat and "18080" in nat
    run_chain(agent, "DEL", container="c3", netns=pod.path, runtime_config={"portMappings": mappings}, prev=result)
    assert f"{ip}:80" not in agent.pair.node.run("iptables-save", "-t", "nat").stdout
    assert agent.service.ledger.allocations() == []


def test_chained_with_tuning_and_bandwidth(node_agent, netns_factory):
    agent = node_agent
    pod = netns_factory("pod")
    conflist = {"cniVersion": "1.0.0", "name": "tke-eni", "plugins": [
        agent.conf(),
        {"type": "tuning", "sysctl": {"net.core.somaxconn": "777"}},
        {"type": "bandwidth", "capabilities": {"bandwidth": True}},
    ]}
    shaping = {"bandwidth": {"ingressRate": 8_000_000, "ingressBurst": 80_000,
                             "egressRate": 8_000_000, "egressBurst": 80_000}}
    result = run_chain(agent, "ADD", container="c6", netns=pod.path, runtime_config=shaping, conflist=conflist)
    host_ifname = result["interfaces"][0]["name"]
    assert pod.run("cat", "/proc/sys/net/core/somaxconn").stdout.strip() == "777"
    assert "tbf" in agent.pair.node.run("tc", "qdisc", "show", "dev", host_ifname).stdout
    assert pod_ip(result).startswith("10.20.0.")
    run_chain(agent, "DEL", container="c6", netns=pod.path, runtime_config=shaping, conflist=conflist, prev=result)
    assert host_ifname not in agent.pair.node.ip("link", "show")
    assert agent.service.ledger.allocations() == []


def test_ipamc_under_ptp(node_agent, netns_factory):
    agent = node_agent
    pod = netns_factory("pod")
    conf = {"cniVersion": "0.4.0", "name": "vpc", "type": "ptp",
            "ipam": {"type": "tke-eni-ipamc", "agentSocket": str(agent.settings.agent_socket)}}
    rc, result, stderr = agent.exec(f"{REFERENCE}/ptp", "ADD", conf, container="c4", netns=pod.path)
    assert rc == 0, (result, stderr)
    address = result["ips"][0]["address"]
    assert address.startswith("10.20.0.") and address.endswith("/24")
    assert f"inet {address}" in pod.ip("-4", "addr", "show", "dev", "eth0")
    assert result["ips"][0]["gateway"] == str(agent.eni.primary_ip)
    assert f"default via {agent.eni.primary_ip} dev eth0" in pod.ip("route", "show")
    host_veths = agent.pair.node.ip("-4", "addr", "show", "type", "veth")
    assert f"inet {agent.eni.primary_ip}/32" in host_veths  # ptp put the gateway on its host veth
    ip = address.split("/")[0]
    assert agent.service.ledger.allocations()[0].ip == IPv4Address(ip)
    table = next(iter(agent.service.tables()))
    rules = agent.pair.node.ip("rule", "show")
    assert f"from {ip} lookup {table}" in rules and f"to {ip} lookup main" in rules  # our rules, ptp's veth
    agent.pair.route_to_pod(ip, agent.eni)
    assert pod.ping(agent.pair.remote_ip), "pod -> VPC peer through the ENI and back"
    assert pod.ping(agent.eni.primary_ip), "pod -> node"
    for _ in range(2):
        assert agent.exec(f"{REFERENCE}/ptp", "DEL", conf, container="c4", netns=pod.path)[0] == 0
    assert agent.service.ledger.allocations() == []
    assert ip not in agent.pair.node.ip("rule", "show")


@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_missing_netns_is_a_clean_error(node_agent, command):
    agent = node_agent
    rc, error, stderr = agent.exec("tke-route-eni", command, agent.conf(), container="c5",
                                   netns="/run/netns/does-not-exist-xyz")
    assert rc == 1 and error["code"] in (3, 101) and "Traceback" not in stderr
    assert agent.service.ledger.allocations() == []
