"""The plugins' driver in-process: results per CNI version, error JSON on stdout, the agent client's failure modes."""

import io
import json
import socket
import threading

import pytest

from eni.cni import client, plugin
from eni.cni.errors import CniError

ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/var/run/netns/p", "CNI_IFNAME": "eth0",
       "CNI_ARGS": "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=u-1"}
ADD_REPLY = {
    "allocation": {"ip": "10.0.1.20"},
    "host": {"name": "eni0123456789a", "mac": "02:00:00:00:00:01"},
    "container": {"name": "eth0", "mac": "02:00:00:00:00:02", "sandbox": "/var/run/netns/p"},
    "ip": {"address": "10.0.1.20/32", "gateway": "169.254.1.1", "routes": [{"dst": "0.0.0.0/0"}]},
}


def conf(version="1.0.0", **extra):
    doc = {"cniVersion": version, "name": "tke-eni", "type": "tke-route-eni", "agentSocket": "/nonexistent.sock"}
    doc.update(extra)
    return json.dumps(doc).encode()


def run(handler, *, environ, stdin, section=None):
    out = io.StringIO()
    rc = plugin.run(handler, section=section, environ=environ, stdin=io.BytesIO(stdin), stdout=out)
    text = out.getvalue()
    return rc, (json.loads(text) if text else None)


@pytest.fixture
def agent(monkeypatch):
    calls = []
    replies = {}

    def fake_call(socket_path, method, request, *, timeout):
        calls.append((method, request))
        reply = replies.get(method, {})
        if isinstance(reply, Exception):
            raise reply
        return reply

    monkeypatch.setattr(client, "call", fake_call)
    return calls, replies


@pytest.mark.parametrize("version", ["1.0.0", "0.4.0", "0.3.1"])
def test_add_result_shape(agent, version):
    calls, replies = agent
    replies["PodNetwork/Add"] = ADD_REPLY
    rc, result = run(plugin.route_eni, environ=ENV,
                     stdin=conf(version, mtu=1450, dns={"nameservers": ["10.96.0.10"]}))
    assert rc == 0
    assert result["cniVersion"] == version
    assert result["interfaces"][1] == {"name": "eth0", "mac": "02:00:00:00:00:02", "sandbox": "/var/run/netns/p"}
    ip = result["ips"][0]
    assert (ip["address"], ip["gateway"], ip["interface"]) == ("10.0.1.20/32", "169.254.1.1", 1)
    assert ("version" in ip) == version.startswith("0.")
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]
    assert result["dns"] == {"nameservers": ["10.96.0.10"]}
    method, request = calls[0]
    assert method == "PodNetwork/Add"
    assert request == {"key": {"networkName": "tke-eni", "containerId": "abc", "ifname": "eth0"},
                       "pod": {"namespace": "default", "name": "web-0", "uid": "u-1"}, "netns": "/var/run/netns/p",
                       "mtu": 1450}


def test_del_and_check_print_nothing_on_success(agent):
    calls, _ = agent
    for command in ("DEL", "CHECK"):
        rc, result = run(plugin.route_eni, environ=dict(ENV, CNI_COMMAND=command), stdin=conf())
        assert (rc, result) == (0, None)
    assert [c[0] for c in calls] == ["PodNetwork/Del", "PodNetwork/Check"]


def test_check_is_refused_for_old_configs(agent):
    rc, result = run(plugin.route_eni, environ=dict(ENV, CNI_COMMAND="CHECK"), stdin=conf("0.3.1"))
    assert rc == 1 and result["code"] == 1 and agent[0] == []


def test_agent_errors_keep_their_code_and_message(agent):
    _, replies = agent
    replies["PodNetwork/Add"] = CniError(11, "no IP free yet: 4 in use", "POOL_EXHAUSTED")
    rc, result = run(plugin.route_eni, environ=ENV, stdin=conf("0.4.0"))
    assert rc == 1
    assert result == {"cniVersion": "0.4.0", "code": 11, "msg": "no IP free yet: 4 in use",
                      "details": "POOL_EXHAUSTED"}


def test_unexpected_exceptions_become_code_999_not_a_traceback(agent):
    agent[1]["PodNetwork/Add"] = KeyError("boom")
    rc, result = run(plugin.route_eni, environ=ENV, stdin=conf())
    assert rc == 1 and result["code"] == 999 and "KeyError" in result["msg"]


def test_version_reports_supported_versions():
    rc, result = run(plugin.route_eni, environ={"CNI_COMMAND": "VERSION"}, stdin=b'{"cniVersion":"0.4.0"}')
    assert rc == 0 and result["cniVersion"] == "0.4.0" and "1.0.0" in result["supportedVersions"]
    rc, result = run(plugin.route_eni, environ={"CNI_COMMAND": "VERSION"}, stdin=b"")
    assert result["cniVersion"] == "1.0.0"


@pytest.mark.parametrize(
    "environ, stdin, code",
    [
        ({}, conf(), 4),
        (dict(ENV, CNI_COMMAND="FROB"), conf(), 4),
        ({k: v for k, v in ENV.items() if k != "CNI_CONTAINERID"}, conf(), 4),
        (ENV, b"not json", 6),
        (ENV, b"x" * (2 << 20), 6),
        (ENV, b"[" * 100000, 6),
        (ENV, b"\xff\xfe{}", 6),
    ],
)
def test_bad_input_is_one_error_document(agent, environ, stdin, code):
    rc, result = run(plugin.route_eni, environ=environ, stdin=stdin)
    assert rc == 1 and result["code"] == code and set(result) == {"cniVersion", "code", "msg", "details"}
    assert agent[0] == []


IPAM_CONF = json.dumps({"cniVersion": "0.4.0", "name": "vpc", "type": "ptp",
                        "ipam": {"type": "tke-eni-ipamc", "agentSocket": "/x.sock"}}).encode()


def test_ipamc_add_del_check(agent):
    calls, replies = agent
    replies["Ipam/Allocate"] = {"ip": {"address": "10.0.1.20/24", "gateway": "169.254.1.1",
                                       "routes": [{"dst": "0.0.0.0/0"}]}}
    rc, result = run(plugin.ipamc, environ=ENV, stdin=IPAM_CONF, section="ipam")
    assert rc == 0
    assert result == {"cniVersion": "0.4.0", "routes": [{"dst": "0.0.0.0/0"}],
                      "ips": [{"address": "10.0.1.20/24", "gateway": "169.254.1.1", "version": "4"}]}
    key = calls[0][1]["key"]
    replies["Introspection/ListAllocations"] = {"allocations": [{"key": key}]}
    assert run(plugin.ipamc, environ=dict(ENV, CNI_COMMAND="CHECK"), stdin=IPAM_CONF, section="ipam") == (0, None)
    replies["Introspection/ListAllocations"] = {}
    rc, result = run(plugin.ipamc, environ=dict(ENV, CNI_COMMAND="CHECK"), stdin=IPAM_CONF, section="ipam")
    assert rc == 1 and result["code"] == 3
    assert run(plugin.ipamc, environ=dict(ENV, CNI_COMMAND="DEL"), stdin=IPAM_CONF, section="ipam") == (0, None)
    assert calls[-1] == ("Ipam/Release", {"key": key})


# --- the client against a real unix socket ------------------------------------------------------------


@pytest.fixture
def fake_agent(tmp_path):
    """A one-shot unix socket server whose behaviour per connection the test sets."""
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    behaviour = {"reply": b""}
    stop = threading.Event()
    received = []

    def serve():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                received.append(conn.recv(65536))
                if behaviour["reply"] is None:
                    stop.wait(2)
                else:
                    conn.sendall(behaviour["reply"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path, behaviour, received
    stop.set()
    thread.join(5)
    srv.close()


def test_client_sends_one_line_and_reads_the_reply(fake_agent):
    path, behaviour, received = fake_agent
    behaviour["reply"] = b'{"reply":{"releasedIp":"10.0.1.20"}}\n'
    assert client.call(path, "Ipam/Release", {"key": {}}, timeout=5) == {"releasedIp": "10.0.1.20"}
    assert json.loads(received[0]) == {"method": "/tke.eni.agent.v1.Ipam/Release", "request": {"key": {}}}


@pytest.mark.parametrize(
    "reply, code",
    [
        (b"garbage\n", 5),
        (b"", 11),
        (b'{"error":{"reason":"POOL_EXHAUSTED","message":"no IP free yet","cniCode":11}}\n', 11),
        (b'{"error":{"message":"odd"}}\n', 999),
        (None, 11),
    ],
)
def test_client_failure_modes(fake_agent, reply, code):
    path, behaviour, _ = fake_agent
    behaviour["reply"] = reply
    with pytest.raises(CniError) as err:
        client.call(path, "PodNetwork/Add", {}, timeout=0.5)
    assert err.value.code == code


def test_unreachable_agent_is_try_again_later(tmp_path):
    with pytest.raises(CniError, match="unreachable") as err:
        client.call(str(tmp_path / "none.sock"), "PodNetwork/Add", {}, timeout=1)
    assert err.value.code == 11
