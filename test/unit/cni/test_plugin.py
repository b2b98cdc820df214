"""The plugins' driver in-process: the forwarded frame, the slow path's local answers, the client's failure modes."""

import json
import socket
import threading
import time

import pytest

from eni.cni import client, fallback, forward, plugin
from eni.cni.errors import CniError

ENV = {b"CNI_COMMAND": b"ADD", b"CNI_CONTAINERID": b"abc", b"CNI_NETNS": b"/var/run/netns/p", b"CNI_IFNAME": b"eth0",
       b"CNI_ARGS": b"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=u-1", b"PATH": b"/usr/bin",
       b"HOME": b"/root"}


def conf(version="1.0.0", **extra):
    doc = {"cniVersion": version, "name": "tke-eni", "type": "tke-route-eni"}
    doc.update(extra)
    return json.dumps(doc).encode()


@pytest.fixture
def fake_agent(tmp_path):
    """A unix socket server recording each request; ``behaviour["reply"]`` is sent back (None: stay silent)."""
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    behaviour = {"reply": b"tke-cni/1 0 3\nok\n"}
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
                data = b""
                while b"\n" not in data or len(data) < _frame_size(data):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                if behaviour["reply"] is None:
                    stop.wait(2)
                else:
                    conn.sendall(behaviour["reply"])
                    stop.wait(behaviour.get("hold", 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path, behaviour, received
    stop.set()
    thread.join(5)
    srv.close()


def _frame_size(data):
    head, _, _ = data.partition(b"\n")
    parts = head.split(b" ")
    if len(parts) == 4 and parts[0] == b"tke-cni/1":
        return len(head) + 1 + int(parts[2]) + int(parts[3])
    return len(head) + 1  # a JSON request line


def parse_frame(data):
    head, _, body = data.partition(b"\n")
    magic, name, env_size, stdin_size = head.split(b" ")
    env_size, stdin_size = int(env_size), int(stdin_size)
    assert magic == b"tke-cni/1" and len(body) == env_size + stdin_size
    env = dict(pair.split(b"=", 1) for pair in body[:env_size].split(b"\0"))
    return name.decode(), env, body[env_size:]


# --- the hot path: forwarded untouched -------------------------------------------------------------------


def test_an_ordinary_add_is_forwarded_untouched_and_the_reply_printed(fake_agent):
    path, behaviour, received = fake_agent
    behaviour["reply"] = b'tke-cni/1 0 12\n{"ips":[]}\n\n'
    stdin = conf(agentSocket=path, dns={"nameservers": ["10.96.0.10"]})
    assert plugin.run("tke-route-eni", environ=ENV, stdin=stdin, agent_socket=path) == (0, b'{"ips":[]}\n\n')
    name, env, sent = parse_frame(received[0])
    assert name == "tke-route-eni" and sent == stdin
    assert env == {k: v for k, v in ENV.items() if k.startswith(b"CNI_")}  # only the CNI_* variables


def test_a_whole_reply_frame_is_used_without_waiting_for_the_agent_to_close(fake_agent):
    path, behaviour, _ = fake_agent
    behaviour["hold"] = 5  # NB: the agent's close can lag behind its reply when its threads are busy
    started = time.monotonic()
    assert plugin.run("tke-route-eni", environ=ENV, stdin=conf(), agent_socket=path) == (0, b"ok\n")
    assert time.monotonic() - started < 4


def test_the_agents_exit_status_and_output_are_passed_through(fake_agent):
    path, behaviour, received = fake_agent
    error = b'{"cniVersion":"1.0.0","code":7,"msg":"name is missing","details":""}\n'
    behaviour["reply"] = b"tke-cni/1 1 %d\n%s" % (len(error), error)
    assert plugin.run("tke-eni-ipamc", environ=ENV, stdin=b"{}", agent_socket=path) == (1, error)
    assert parse_frame(received[0])[0] == "tke-eni-ipamc"


def test_version_is_forwarded_and_answered_locally_without_an_agent(fake_agent, tmp_path):
    path, behaviour, received = fake_agent
    environ = {b"CNI_COMMAND": b"VERSION"}
    assert plugin.run("tke-route-eni", environ=environ, stdin=b'{"cniVersion":"0.4.0"}', agent_socket=path)[0] == 0
    assert len(received) == 1
    status, out = plugin.run("tke-route-eni", environ=environ, stdin=b'{"cniVersion":"0.4.0"}',
                             agent_socket=str(tmp_path / "none.sock"))
    assert status == 0 and json.loads(out) == {"cniVersion": "0.4.0",
                                               "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}
    status, out = plugin.run("tke-route-eni", environ=environ, stdin=b"", agent_socket=str(tmp_path / "none.sock"))
    assert json.loads(out)["cniVersion"] == "1.0.0"


@pytest.mark.parametrize(
    "config, plain",
    [
        (b'{"name":"n"}', True),
        (b'{"name":"n","agentSocket":"/run/a.sock"}', True),
        (b'{"name": "n", "agentSocket": "/run/a.sock"}', True),
        (b'{"name":"n","agentSocket":"/run/b.sock"}', False),
        (b'{"name":"n","agentSocket" : "/run/a.sock"}', False),  # unusual spacing: parsed, not guessed
        (b'{"agentSocket":"/run/a.sock","ipam":{"agentSocket":"/run/b.sock"}}', False),
        (b'{"name":"n","timeoutSeconds":3}', False),
        (b'{"name":"n","agent\\u0053ocket":"/x"}', False),
        (b'{"name":"agentSocket"}', False),
    ],
)
def test_only_configs_that_surely_use_the_built_in_socket_and_timeout_skip_parsing(config, plain):
    assert forward.uses_defaults(config, "/run/a.sock") is plain


def test_a_config_naming_another_socket_is_sent_there(fake_agent):
    path, behaviour, received = fake_agent
    stdin = conf(agentSocket=path, timeoutSeconds=5)
    assert plugin.run("tke-route-eni", environ=ENV, stdin=stdin, agent_socket="/nonexistent.sock")[0] == 0
    assert parse_frame(received[0])[2] == stdin


# --- the slow path: reported without the agent ------------------------------------------------------------


@pytest.mark.parametrize(
    "environ, stdin, code",
    [
        ({}, conf(), 4),
        ({**ENV, b"CNI_COMMAND": b"FROB"}, conf(), 4),
        ({k: v for k, v in ENV.items() if k != b"CNI_CONTAINERID"}, conf(), 4),
        (ENV, b"not json", 6),
        (ENV, b"x" * (2 << 20), 6),
        (ENV, b"[" * 100000, 6),
        (ENV, b"\xff\xfe{}", 6),
        (ENV, conf("0.2.0"), 1),
        (ENV, conf(agentSocket=""), 7),
    ],
)
def test_bad_input_is_one_error_document_when_the_agent_is_unreachable(tmp_path, environ, stdin, code):
    status, out = plugin.run("tke-route-eni", environ=environ, stdin=stdin, agent_socket=str(tmp_path / "none.sock"))
    result = json.loads(out)
    assert status == 1 and result["code"] == code and set(result) == {"cniVersion", "code", "msg", "details"}


def test_an_unreachable_agent_is_try_again_later_in_the_configs_version(tmp_path):
    status, out = plugin.run("tke-route-eni", environ=ENV, stdin=conf("0.4.0"),
                             agent_socket=str(tmp_path / "none.sock"))
    result = json.loads(out)
    assert status == 1 and result["code"] == 11 and result["cniVersion"] == "0.4.0"
    assert "unreachable" in result["msg"]


def test_an_agent_that_predates_frames_has_its_json_error_reported(fake_agent):
    path, behaviour, _ = fake_agent
    behaviour["reply"] = b'{"error":{"reason":"INVALID_REQUEST","message":"malformed request","cniCode":4}}\n'
    status, out = plugin.run("tke-route-eni", environ=ENV, stdin=conf("0.3.1"), agent_socket=path)
    assert status == 1 and json.loads(out) == {"cniVersion": "0.3.1", "code": 4, "msg": "malformed request",
                                               "details": "INVALID_REQUEST"}


@pytest.mark.parametrize(
    "reply, code",
    [
        (b"garbage\n", 5),
        (b"tke-cni/1 0 99\nshort", 5),
        (b"", 11),
        (None, 11),
    ],
)
def test_a_failed_exchange_is_reported_with_its_code(fake_agent, reply, code):
    path, behaviour, _ = fake_agent
    behaviour["reply"] = reply
    status, out = plugin.run("tke-route-eni", environ=ENV, stdin=conf(agentSocket=path, timeoutSeconds=0.5),
                             agent_socket=path)
    assert status == 1 and json.loads(out)["code"] == code


def test_frames_round_trip_and_replies_are_bounded():
    frame = forward.frame("tke-route-eni", {b"CNI_A": b"1", b"OTHER": b"x", b"CNI_B": b"a=b"}, b'{"x":1}')
    assert parse_frame(frame) == ("tke-route-eni", {b"CNI_A": b"1", b"CNI_B": b"a=b"}, b'{"x":1}')
    assert forward.parse_reply(b"tke-cni/1 1 2\n{}") == (1, b"{}")
    with pytest.raises(CniError) as err:
        forward.parse_reply(b"tke-cni/1 x 2\n{}")
    assert err.value.code == 5 and err.value.reply == b"tke-cni/1 x 2\n{}"


def test_unexpected_exceptions_become_code_999_not_a_traceback(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(forward, "exchange", broken)
    status, out = plugin.run("tke-route-eni", environ=ENV, stdin=conf(), agent_socket=str(tmp_path / "a.sock"))
    result = json.loads(out)
    assert status == 1 and result["code"] == 999 and "KeyError" in result["msg"]


def test_the_environment_is_decoded_as_os_environ_does():
    assert fallback.decoded({b"CNI_ARGS": b"K8S_POD_NAME=\xff"}) == {"CNI_ARGS": "K8S_POD_NAME=\udcff"}


# --- the JSON client (operators' ipam view, older agents) ---------------------------------------------------


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


def test_the_hot_path_shares_the_limits_of_the_slow_path_and_the_agent():
    from eni.agent import cniconf
    from eni.cni import config

    assert plugin.MAX_STDIN_BYTES == config.MAX_STDIN_BYTES == cniconf.MAX_STDIN_BYTES
    assert forward.DEFAULT_TIMEOUT == config.DEFAULT_TIMEOUT
    assert (plugin.ROUTE_ENI, plugin.IPAMC) == tuple(fallback.SECTIONS) == tuple(cniconf_plugins())


def cniconf_plugins():
    from eni.agent.cniverbs import PLUGINS

    return PLUGINS
