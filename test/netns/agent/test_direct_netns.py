"""Exclusive ENIs end to end with the real kernel: tke-route-eni exec'd as a runtime does with a network named
tke-direct-eni; the pod gets the whole ENI as eth0 and reaches the VPC through it; CHECK; DEL (twice) brings the
link back to the node namespace under its own name; the ENI is not set up as a shared ENI meanwhile."""

DIRECT_CONF_NAME = "tke-direct-eni"


def direct_conf(agent):
    """The network config a runtime would read for exclusive-ENI pods (Multus-style, by name)."""
    return agent.conf(name=DIRECT_CONF_NAME)


def test_a_direct_eni_pod_gets_the_eni_as_eth0_and_reaches_the_vpc(direct_node, netns_factory):
    node, agent = direct_node, direct_node.agent
    pod = netns_factory("pod")
    rc, result, stderr = agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d1", netns=pod.path)
    assert rc == 0, (result, stderr)
    assert result["ips"][0]["address"] == f"{node.direct.primary_ip}/24"
    assert result["ips"][0]["gateway"] == str(node.direct.gateway)
    # no host end: the pod's interface is the only one, and the IP is on it
    assert result["interfaces"] == [{"name": "eth0", "mac": node.direct.mac, "sandbox": pod.path}]
    assert result["ips"][0]["interface"] == 0
    assert "eni1" not in agent.pair.node.ip("link", "show")
    assert node.direct.mac in pod.ip("link", "show", "dev", "eth0")
    assert f"default via {node.direct.gateway} dev eth0" in pod.ip("route", "show")
    assert pod.ping(node.direct.gateway) and pod.ping(agent.pair.remote_ip)
    assert f"from {node.direct.primary_ip}" not in agent.pair.node.ip("rule", "show")
    assert agent.service.direct.report().in_use == ("eni-d1",)

    assert agent.exec("tke-route-eni", "CHECK", direct_conf(agent), container="d1", netns=pod.path)[:2] == (0, None)
    pod.ip("route", "del", "default")
    rc, error, _ = agent.exec("tke-route-eni", "CHECK", direct_conf(agent), container="d1", netns=pod.path)
    assert rc == 1 and error["code"] == 102 and "default route" in error["msg"]

    for _ in range(2):
        assert agent.exec("tke-route-eni", "DEL", direct_conf(agent), container="d1", netns=pod.path)[:2] == (0, None)
    shown = agent.pair.node.ip("link", "show", "dev", "eni1")
    assert node.direct.mac in shown and "state DOWN" in shown
    assert "inet " not in agent.pair.node.ip("-4", "addr", "show", "dev", "eni1")
    assert "eth0" not in pod.ip("link", "show")
    assert agent.service.direct.ledger.allocations() == []
    # a node-loop pass leaves the free exclusive ENI alone: no address, no route table, no rule
    agent.sync.sync(node.status)
    assert "inet " not in agent.pair.node.ip("-4", "addr", "show", "dev", "eni1")
    assert "eni1" not in agent.pair.node.ip("route", "show", "table", "all")


def test_a_second_direct_pod_waits_and_the_reason_reaches_the_runtime(direct_node, netns_factory):
    agent = direct_node.agent
    first, second = netns_factory("pod"), netns_factory("pod")
    assert agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d1", netns=first.path)[0] == 0
    rc, error, _ = agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d2", netns=second.path)
    assert rc == 1 and error["code"] == 11 and "no exclusive ENI free yet" in error["msg"]
    assert agent.exec("tke-route-eni", "DEL", direct_conf(agent), container="d1", netns=first.path)[0] == 0
    assert agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d2", netns=second.path)[0] == 0
    assert direct_node.direct.mac in second.ip("link", "show", "dev", "eth0")
    assert agent.exec("tke-route-eni", "DEL", direct_conf(agent), container="d2", netns=second.path)[0] == 0


def test_del_after_the_pod_namespace_is_gone_succeeds(direct_node, netns_factory):
    agent = direct_node.agent
    pod = netns_factory("pod")
    assert agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d3", netns=pod.path)[0] == 0
    netns_factory.delete(pod)
    assert agent.exec("tke-route-eni", "DEL", direct_conf(agent), container="d3", netns=pod.path)[:2] == (0, None)
    assert agent.service.direct.ledger.allocations() == []


def test_the_first_sync_after_a_start_brings_back_a_free_eni_stranded_in_a_pod_namespace(direct_node, netns_factory):
    from eni.agent.nodesync import NodeSync

    node, agent = direct_node, direct_node.agent
    stray = netns_factory("pod")
    agent.pair.node.ip("link", "set", "eni1", "netns", stray.name)  # moved by something the ledger never saw
    assert node.direct.mac in stray.ip("link", "show")

    NodeSync(agent.service, agent.network, spec=lambda: {"maxDirectENI": 2}).sync(node.status)

    assert node.direct.mac not in stray.ip("link", "show")
    shown = agent.pair.node.ip("link", "show", "dev", "eni-d1")  # its original name is unknown: named by its id
    assert node.direct.mac in shown and "state DOWN" in shown
    netns_factory.delete(stray)
    pod = netns_factory("pod")
    assert agent.exec("tke-route-eni", "ADD", direct_conf(agent), container="d9", netns=pod.path)[0] == 0
    assert pod.ping(node.direct.gateway)
    assert agent.exec("tke-route-eni", "DEL", direct_conf(agent), container="d9", netns=pod.path)[0] == 0
