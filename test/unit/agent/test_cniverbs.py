"""The CNI verbs the agent runs for the forwarding plugins: env and config rules (the same as the plugins' own),
results per CNI version, agent errors as CNI error documents, over the real handlers and service."""

import json

import pytest

from eni.agent import cniconf
from eni.agent.cniverbs import CniVerbs
from eni.agent.handlers import AgentHandlers
from eni.agent.ledger import Ledger
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import parse_pool
from eni.agent.service import AgentService
from eni.cni import config as plugin_config
from eni.cni.errors import CniError

ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/var/run/netns/p", "CNI_IFNAME": "eth0",
       "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=u-1"}


def conf(version="1.0.0", **fields):
    doc = {"cniVersion": version, "name": "tke-eni", "type": "tke-route-eni"}
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


class Node:
    def __init__(self, store, clock, status):
        self.network = FakePodNetworker()
        self.service = AgentService(Ledger(store, clock=clock), self.network)
        self.service.update_pool(parse_pool(status), {"02:00:00:00:00:0a": 2003})
        self.verbs = CniVerbs(AgentHandlers(self.service))

    def run(self, plugin, stdin, **env):
        outcome = self.verbs.run(plugin, {**ENV, **env}, stdin)
        return outcome.status, (json.loads(outcome.stdout) if outcome.stdout else None)


@pytest.fixture
def node(store, clock, status_of):
    return Node(store, clock, status_of.two_enis(2, 0))


@pytest.mark.parametrize("version", ["1.0.0", "0.4.0", "0.3.1"])
def test_add_result_shape(node, version):
    status, result = node.run("tke-route-eni", conf(version, mtu=1450, dns={"nameservers": ["10.96.0.10"], "x": 1}))
    assert status == 0
    assert result["cniVersion"] == version
    host, pod = result["interfaces"]
    assert host["name"].startswith("eni") and pod["name"] == "eth0" and pod["sandbox"] == "/var/run/netns/p"
    ip = result["ips"][0]
    assert (ip["address"], ip["gateway"], ip["interface"]) == ("10.0.1.20/32", "169.254.1.1", 1)
    assert ("version" in ip) == version.startswith("0.")
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]
    assert result["dns"] == {"nameservers": ["10.96.0.10"]}
    [setup] = node.network.pods.values()
    assert setup.mtu == 1450 and setup.netns_path == "/var/run/netns/p"
    [alloc] = node.service.ledger.allocations()
    assert (alloc.key.network_name, alloc.pod.name, alloc.pod.uid) == ("tke-eni", "web-0", "u-1")


def test_del_and_check_print_nothing_and_check_is_refused_for_old_configs(node):
    assert node.run("tke-route-eni", conf())[0] == 0
    assert node.run("tke-route-eni", conf(), CNI_COMMAND="CHECK") == (0, None)
    status, error = node.run("tke-route-eni", conf("0.3.1"), CNI_COMMAND="CHECK")
    assert status == 1 and error["code"] == 1
    assert node.run("tke-route-eni", conf(), CNI_COMMAND="DEL", CNI_NETNS="") == (0, None)
    assert node.service.ledger.allocations() == []


def test_agent_errors_keep_their_code_message_and_reason(node):
    for container in ("c1", "c2"):
        assert node.run("tke-route-eni", conf(), CNI_CONTAINERID=container)[0] == 0
    status, error = node.run("tke-route-eni", conf("0.4.0"), CNI_CONTAINERID="c3")
    assert status == 1 and error["cniVersion"] == "0.4.0" and error["code"] == 11
    assert error["msg"].startswith("no IP free yet") and error["details"] == "POOL_EXHAUSTED"
    status, error = node.run("tke-route-eni", conf(), CNI_CONTAINERID="bad/id")
    assert (status, error["code"], error["details"]) == (1, 4, "INVALID_REQUEST")


def test_a_successful_add_reads_the_config_once_and_errors_still_answer_in_its_version(node, monkeypatch):
    sniffed = []
    monkeypatch.setattr("eni.agent.cniverbs.sniff_version",
                        lambda data: sniffed.append(data) or cniconf.sniff_version(data))
    assert node.run("tke-route-eni", conf("0.4.0"))[0] == 0
    assert sniffed == []
    status, error = node.run("tke-route-eni", conf("0.4.0"), CNI_CONTAINERID="bad/id")
    assert (status, error["cniVersion"], error["code"]) == (1, "0.4.0", 4) and len(sniffed) == 1


def test_a_failure_inside_the_agent_is_code_999_without_its_text(node):
    node.network.fail_setup = KeyError("secret")
    status, error = node.run("tke-route-eni", conf())
    assert status == 1 and error["code"] == 101 and "secret" in error["msg"]  # NetworkSetupError names the cause
    node.network.fail_setup = None
    node.service.ledger.reserve = lambda *args: {}["secret"]  # a bug inside the service: reported, never raised
    status, error = node.run("tke-route-eni", conf(), CNI_CONTAINERID="other")
    assert status == 1 and error["code"] == 999 and set(error) == {"cniVersion", "code", "msg", "details"}
    assert "secret" not in error["msg"] and error["details"] == "INTERNAL"


def test_the_verbs_are_timed_as_the_api_methods(store, clock, status_of):
    seen = []
    service = AgentService(Ledger(store, clock=clock), FakePodNetworker())
    service.update_pool(parse_pool(status_of.two_enis(2, 0)), {"02:00:00:00:00:0a": 2003})
    verbs = CniVerbs(AgentHandlers(service, observe=lambda name, seconds, reason: seen.append((name, reason))))
    assert verbs.run("tke-route-eni", ENV, conf()).status == 0
    assert verbs.run("tke-route-eni", {**ENV, "CNI_COMMAND": "CHECK"}, conf()).status == 0
    assert verbs.run("tke-route-eni", {**ENV, "CNI_COMMAND": "DEL"}, conf()).status == 0
    assert verbs.run("tke-route-eni", {**ENV, "CNI_COMMAND": "CHECK"}, conf()).status == 1
    ipam = {**ENV, "CNI_CONTAINERID": "ipam"}
    ipam_conf = json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "ptp", "ipam": {"type": "tke-eni-ipamc"}})
    for command in ("ADD", "CHECK", "DEL"):
        assert verbs.run("tke-eni-ipamc", {**ipam, "CNI_COMMAND": command}, ipam_conf.encode()).status == 0
    assert seen == [("Add", ""), ("Check", ""), ("Del", ""), ("Check", "UNKNOWN_CONTAINER"),
                    ("Allocate", ""), ("ListAllocations", ""), ("Release", "")]


def test_version_and_unknown_plugins(node):
    status, result = node.run("tke-route-eni", b'{"cniVersion":"0.4.0"}', CNI_COMMAND="VERSION")
    assert status == 0 and result == {"cniVersion": "0.4.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}
    status, error = node.run("tke-other", conf())
    assert status == 1 and error["code"] == 4


def test_ipamc_allocates_checks_and_releases(node):
    ipam = json.dumps({"cniVersion": "0.4.0", "name": "vpc", "type": "ptp",
                       "ipam": {"type": "tke-eni-ipamc"}}).encode()
    status, result = node.run("tke-eni-ipamc", ipam)
    assert status == 0
    assert result == {"cniVersion": "0.4.0", "routes": [{"dst": "0.0.0.0/0"}],
                      "ips": [{"address": "10.0.1.20/24", "gateway": "10.0.1.10", "version": "4"}]}
    assert node.run("tke-eni-ipamc", ipam, CNI_COMMAND="CHECK") == (0, None)
    status, error = node.run("tke-eni-ipamc", ipam, CNI_COMMAND="CHECK", CNI_CONTAINERID="other")
    assert status == 1 and error["code"] == 3
    assert node.run("tke-eni-ipamc", ipam, CNI_COMMAND="DEL") == (0, None)
    assert node.service.ledger.allocations() == []


# --- the same rules as the plugins' own slow path (eni.cni.config) ------------------------------------------

BAD_CONFIGS = [
    b"{nope", b"[]", b"", b" " * (cniconf.MAX_STDIN_BYTES + 1), b'{"cniVersion":"1.0.0","name":"n","x":NaN}',
    b"\xff\xfe{}", b'{"a":' * 5000, conf(cniVersion=None), conf(cniVersion="0.2.0"), conf(name=""), conf(type=None),
    conf(mtu="big"), conf(mtu=True), conf(mtu=70000), conf(timeoutSeconds=0), conf(agentSocket=""), conf(dns=["x"]),
]


@pytest.mark.parametrize("data", BAD_CONFIGS, ids=range(len(BAD_CONFIGS)))
def test_bad_configs_get_the_plugins_code(node, data):
    with pytest.raises(CniError) as expected:
        plugin_config.parse_netconf(data)
    status, error = node.run("tke-route-eni", data)
    assert status == 1 and error["code"] == expected.value.code and error["msg"] == expected.value.msg
    assert node.service.ledger.allocations() == []


BAD_ENVS = [{"CNI_COMMAND": ""}, {"CNI_COMMAND": "FROB"}, {"CNI_CONTAINERID": ""}, {"CNI_IFNAME": ""},
            {"CNI_NETNS": ""}, {"CNI_NETNS": "", "CNI_COMMAND": "CHECK"}, {"CNI_ARGS": "K8S_POD_NAME"}]


@pytest.mark.parametrize("changes", BAD_ENVS, ids=range(len(BAD_ENVS)))
def test_bad_environments_get_the_plugins_code(node, changes):
    environ = {k: v for k, v in {**ENV, **changes}.items() if v}
    with pytest.raises(CniError) as expected:
        plugin_config.read_env(environ)
    outcome = node.verbs.run("tke-route-eni", environ, conf())
    error = json.loads(outcome.stdout)
    assert outcome.status == 1 and (error["code"], error["msg"]) == (expected.value.code, expected.value.msg)


def test_good_configs_read_the_same_on_both_sides():
    data = conf(mtu=9000, timeoutSeconds=2, agentSocket="/run/x.sock", dns={"search": ["svc"], "junk": 1})
    ours, theirs = cniconf.parse_netconf(data), plugin_config.parse_netconf(data)
    assert (ours.cni_version, ours.name, ours.plugin_type, ours.mtu, dict(ours.dns)) == (
        theirs.cni_version, theirs.name, theirs.plugin_type, theirs.mtu, theirs.dns)
    assert cniconf.parse_env(ENV) == cniconf.CniEnv("ADD", "abc", "/var/run/netns/p", "eth0", "default", "web-0", "u-1")
