"""On the real kernel: IP GC frees the IP, veth, route and rules of a pod deleted behind the agent's back;
the node loop's sync repairs a deleted ENI rule and a reset sysctl."""

from eni.agent.gc import IpGarbageCollector
from eni.agent.ledger import PodRef
from eni.netlink.types import ENI_RULE_PRIORITY


def test_gc_frees_a_pod_deleted_behind_the_agents_back(node_agent, netns_factory):
    agent = node_agent
    kept_ns, gone_ns = netns_factory("pod"), netns_factory("pod")
    rc, kept, _ = agent.exec("tke-route-eni", "ADD", agent.conf(), container="kept", netns=kept_ns.path)
    assert rc == 0
    rc, gone, _ = agent.exec("tke-route-eni", "ADD", agent.conf(), container="gone", netns=gone_ns.path)
    assert rc == 0
    gone_ip = gone["ips"][0]["address"].split("/")[0]
    gc = IpGarbageCollector(agent.service, agent.network, lambda: {PodRef("default", "kept")}, grace=0)
    result = gc.collect()
    assert [a.key.container_id for a in result.released] == ["gone"]
    links = agent.pair.node.ip("link", "show")
    assert gone["interfaces"][0]["name"] not in links and kept["interfaces"][0]["name"] in links
    rules = agent.pair.node.ip("rule", "show")
    assert f"from {gone_ip} " not in rules and f"to {gone_ip} " not in rules
    assert f"{gone_ip} dev" not in agent.pair.node.ip("route", "show")
    assert [a.key.container_id for a in agent.service.ledger.allocations()] == ["kept"]
    assert agent.exec("tke-route-eni", "CHECK", agent.conf(), container="kept", netns=kept_ns.path)[:2] == (0, None)


def test_sync_repairs_a_deleted_eni_rule_and_sysctls(node_agent):
    agent = node_agent
    primary = str(agent.eni.primary_ip)
    assert f"from {primary} lookup" in agent.pair.node.ip("rule", "show")
    agent.pair.node.ip("rule", "del", "from", primary, "priority", str(ENI_RULE_PRIORITY))
    agent.pair.node.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=0")
    assert f"from {primary} lookup" not in agent.pair.node.ip("rule", "show")
    agent.sync.sync(agent.status)
    assert f"from {primary} lookup" in agent.pair.node.ip("rule", "show")
    assert agent.pair.node.run("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
