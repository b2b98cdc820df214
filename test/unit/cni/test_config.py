"""CNI environment and network-config parsing: every rule about bad input, with the spec's error codes."""

import json

import pytest

from eni.cni.config import DEFAULT_AGENT_SOCKET, MAX_STDIN_BYTES, parse_cni_args, parse_netconf, read_env
from eni.cni.errors import CniError

FULL_ENV = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "abc",
    "CNI_NETNS": "/var/run/netns/p",
    "CNI_IFNAME": "eth0",
    "CNI_PATH": "/opt/cni/bin",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc",
}


def without(*names, **changes):
    env = {k: v for k, v in FULL_ENV.items() if k not in names}
    env.update(changes)
    return env


def test_full_env():
    env = read_env(FULL_ENV)
    assert (env.command, env.container_id, env.netns, env.ifname, env.pod_namespace, env.pod_name) == (
        "ADD", "abc", "/var/run/netns/p", "eth0", "default", "web-0")


@pytest.mark.parametrize(
    "environ, message",
    [
        (without("CNI_COMMAND"), "CNI_COMMAND is not set"),
        (without(CNI_COMMAND="FROB"), "unknown CNI_COMMAND: FROB"),
        (without("CNI_CONTAINERID"), "CNI_CONTAINERID"),
        (without("CNI_IFNAME"), "CNI_IFNAME"),
        (without("CNI_NETNS"), "CNI_NETNS"),
        (without("CNI_NETNS", CNI_COMMAND="CHECK"), "CNI_NETNS"),
        (without(CNI_ARGS="K8S_POD_NAME"), "invalid pair"),
    ],
)
def test_bad_env_is_code_4(environ, message):
    with pytest.raises(CniError, match=message) as err:
        read_env(environ)
    assert err.value.code == 4


def test_del_needs_no_netns_and_version_needs_nothing():
    assert read_env(without("CNI_NETNS", CNI_COMMAND="DEL")).netns == ""
    assert read_env({"CNI_COMMAND": "VERSION"}).command == "VERSION"


def test_cni_args_parsing():
    assert parse_cni_args("") == {}
    assert parse_cni_args("A=1;;B=x=y") == {"A": "1", "B": "x=y"}


def conf(**fields):
    doc = {"cniVersion": "1.0.0", "name": "tke-eni", "type": "tke-route-eni"}
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def test_defaults_and_options():
    c = parse_netconf(conf())
    assert (c.cni_version, c.name, c.plugin_type, c.agent_socket, c.mtu, c.dns) == (
        "1.0.0", "tke-eni", "tke-route-eni", DEFAULT_AGENT_SOCKET, 0, {})
    c = parse_netconf(conf(agentSocket="/run/x.sock", mtu=9000, timeoutSeconds=2,
                           dns={"nameservers": ["10.0.0.10"], "search": ["svc"], "junk": 1}))
    assert (c.agent_socket, c.mtu, c.timeout) == ("/run/x.sock", 9000, 2.0)
    assert c.dns == {"nameservers": ["10.0.0.10"], "search": ["svc"]}


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0"])
def test_supported_versions(version):
    assert parse_netconf(conf(cniVersion=version)).cni_version == version


@pytest.mark.parametrize(
    "data, code",
    [
        (b"{nope", 6),
        (b"[]", 6),
        (b"", 6),
        (b" " * (MAX_STDIN_BYTES + 1), 6),
        (conf(cniVersion=None), 7),
        (conf(cniVersion="0.2.0"), 1),
        (conf(cniVersion="2.0.0"), 1),
        (conf(name=""), 7),
        (conf(type=None), 7),
        (conf(mtu="big"), 7),
        (conf(mtu=True), 7),
        (conf(timeoutSeconds=0), 7),
        (conf(agentSocket=""), 7),
        (conf(dns=["x"]), 7),
    ],
)
def test_bad_config_codes(data, code):
    with pytest.raises(CniError) as err:
        parse_netconf(data)
    assert err.value.code == code


def test_ipam_section_holds_the_ipam_plugins_options():
    data = json.dumps({"cniVersion": "0.4.0", "name": "vpc", "type": "ptp",
                       "ipam": {"type": "tke-eni-ipamc", "agentSocket": "/run/a.sock"}}).encode()
    c = parse_netconf(data, section="ipam")
    assert (c.plugin_type, c.agent_socket) == ("tke-eni-ipamc", "/run/a.sock")
    with pytest.raises(CniError, match="ipam must be an object"):
        parse_netconf(conf(), section="ipam")
