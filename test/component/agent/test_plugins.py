"""The plugin executables exec'd as a runtime does (CNI env vars + stdin) against a running agent."""

import json
import socket
import subprocess
import sys
import time

import pytest

NETNS = "/var/run/netns/pod-a"


def conf(agent, version="1.0.0", **extra):
    doc = {"cniVersion": version, "name": "tke-eni", "type": "tke-route-eni",
           "agentSocket": str(agent.settings.json_socket), "dns": {"nameservers": ["10.96.0.10"]}}
    doc.update(extra)
    return json.dumps(doc).encode()


def exec_plugin(plugin_dir, name, command, stdin, *, container="c1", netns=NETNS, extra_env=None):
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
           "CNI_PATH": str(plugin_dir), "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0"}
    env = {k: v for k, v in env.items() if v is not None}
    env.update(extra_env or {})
    proc = subprocess.run([str(plugin_dir / name)], input=stdin, env=env, capture_output=True, timeout=30)
    out = proc.stdout.decode()
    return proc.returncode, (json.loads(out) if out.strip() else None), proc.stderr.decode()


def test_add_check_del_through_the_executable(agent, plugin_dir):
    rc, result, _ = exec_plugin(plugin_dir, "tke-route-eni", "ADD", conf(agent))
    assert rc == 0, result
    assert result["ips"] == [{"address": "10.0.1.20/32", "gateway": "169.254.1.1", "interface": 1}]
    assert result["interfaces"][1]["sandbox"] == NETNS and result["dns"] == {"nameservers": ["10.96.0.10"]}
    assert agent.ledger.allocations()[0].pod.name == "web-0"
    # the runtime retrying ADD gets the same answer
    assert exec_plugin(plugin_dir, "tke-route-eni", "ADD", conf(agent))[1] == result
    assert exec_plugin(plugin_dir, "tke-route-eni", "CHECK", conf(agent))[:2] == (0, None)
    assert exec_plugin(plugin_dir, "tke-route-eni", "DEL", conf(agent))[:2] == (0, None)
    assert exec_plugin(plugin_dir, "tke-route-eni", "DEL", conf(agent), netns=None)[:2] == (0, None)
    assert agent.ledger.allocations() == [] and agent.network.pods == {}


def test_check_fails_after_drift(agent, plugin_dir):
    result = exec_plugin(plugin_dir, "tke-route-eni", "ADD", conf(agent))[1]
    agent.network.broken.add(result["interfaces"][0]["name"])
    rc, error, _ = exec_plugin(plugin_dir, "tke-route-eni", "CHECK", conf(agent))
    assert rc == 1 and error["code"] == 102 and "route" in error["msg"]


def test_pool_exhausted_is_code_11_with_the_reason(agent, plugin_dir):
    for i in range(4):
        assert exec_plugin(plugin_dir, "tke-route-eni", "ADD", conf(agent), container=f"c{i}")[0] == 0
    rc, error, _ = exec_plugin(plugin_dir, "tke-route-eni", "ADD", conf(agent), container="c9")
    assert rc == 1 and error["code"] == 11 and error["msg"].startswith("no IP free yet")


def test_agent_unreachable_is_code_11(short_dir, plugin_dir):
    doc = json.dumps({"cniVersion": "0.4.0", "name": "n", "type": "tke-route-eni",
                      "agentSocket": str(short_dir / "none.sock")}).encode()
    rc, error, stderr = exec_plugin(plugin_dir, "tke-route-eni", "ADD", doc)
    assert rc == 1 and error["code"] == 11 and error["cniVersion"] == "0.4.0" and "Traceback" not in stderr


@pytest.mark.parametrize(
    "command, stdin, env, code",
    [
        ("FROB", None, None, 4),
        ("ADD", b"{bad json", None, 6),
        ("ADD", b" " * (2 << 20), None, 6),
        ("ADD", None, {"CNI_CONTAINERID": ""}, 4),
        ("ADD", None, {"CNI_ARGS": "broken"}, 4),
    ],
)
def test_bad_input_is_a_cni_error_and_changes_nothing(agent, plugin_dir, command, stdin, env, code):
    rc, error, stderr = exec_plugin(plugin_dir, "tke-route-eni", command, stdin or conf(agent), extra_env=env)
    assert rc == 1 and error["code"] == code and "Traceback" not in stderr
    assert agent.ledger.allocations() == []


def test_version(plugin_dir):
    rc, result, _ = exec_plugin(plugin_dir, "tke-route-eni", "VERSION", b'{"cniVersion":"1.0.0"}')
    assert rc == 0 and result["supportedVersions"] == ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]


def test_ipamc_allocates_and_releases(agent, plugin_dir):
    doc = json.dumps({"cniVersion": "0.4.0", "name": "vpc", "type": "ptp",
                      "ipam": {"type": "tke-eni-ipamc", "agentSocket": str(agent.settings.json_socket)}}).encode()
    rc, result, _ = exec_plugin(plugin_dir, "tke-eni-ipamc", "ADD", doc)
    assert rc == 0 and result["ips"] == [{"address": "10.0.1.20/24", "gateway": "10.0.1.10", "version": "4"}]
    assert exec_plugin(plugin_dir, "tke-eni-ipamc", "CHECK", doc)[:2] == (0, None)
    assert exec_plugin(plugin_dir, "tke-eni-ipamc", "DEL", doc)[:2] == (0, None)
    assert agent.ledger.allocations() == [] and agent.network.pods == {}


# --- the plugins' frames on the JSON socket ----------------------------------------------------------------


def test_a_plugin_built_for_the_agents_socket_needs_no_socket_in_its_config(agent, short_dir):
    from eni.cni.bundle import build_plugin

    (short_dir / "bin").mkdir()
    exe = short_dir / "bin" / "tke-route-eni"
    exe.write_bytes(build_plugin("tke-route-eni", interpreter=f"{sys.executable} -IS",
                                 agent_socket=str(agent.settings.json_socket)))
    exe.chmod(0o755)
    doc = json.dumps({"cniVersion": "0.4.0", "name": "tke-eni", "type": "tke-route-eni"}).encode()
    rc, result, stderr = exec_plugin(short_dir / "bin", "tke-route-eni", "ADD", doc)
    assert rc == 0 and result["ips"][0]["version"] == "4" and stderr == ""
    rc, result, _ = exec_plugin(short_dir / "bin", "tke-route-eni", "VERSION", b'{"cniVersion":"0.3.1"}')
    assert rc == 0 and result["cniVersion"] == "0.3.1"
    assert exec_plugin(short_dir / "bin", "tke-route-eni", "DEL", doc)[:2] == (0, None)
    assert agent.ledger.allocations() == []


def exchange(agent, data, *, shut=False):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(agent.settings.json_socket))
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize(
    "frame",
    [b"tke-cni/1 tke-route-eni 5\n", b"tke-cni/1 tke-route-eni x 1\n", b"tke-cni/1 tke-route-eni 0 99999999\n",
     b"tke-cni/1 tke-route-eni -1 0\n", b"tke-cni/1 \xff 0 0\n"],
)
def test_malformed_frames_get_an_io_error_and_change_nothing(agent, frame):
    head, _, body = exchange(agent, frame).partition(b"\n")
    assert head.startswith(b"tke-cni/1 1 ") and json.loads(body)["code"] in (4, 5)
    assert agent.ledger.allocations() == []


def test_a_frame_cut_short_gets_no_answer_and_the_server_keeps_serving(agent):
    env = b"CNI_COMMAND=ADD\0CNI_CONTAINERID=c1\0CNI_IFNAME=eth0\0CNI_NETNS=" + NETNS.encode()
    assert exchange(agent, b"tke-cni/1 tke-route-eni %d 500\n%s{" % (len(env), env), shut=True) == b""
    stdin = conf(agent)
    frame = b"tke-cni/1 tke-route-eni %d %d\n%s%s" % (len(env), len(stdin), env, stdin)
    head, _, body = exchange(agent, frame).partition(b"\n")
    assert head == b"tke-cni/1 0 %d" % len(body) and json.loads(body)["ips"][0]["address"] == "10.0.1.20/32"


def test_a_client_dripping_its_frame_is_cut_off_after_the_connection_timeout(agent):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(agent.settings.json_socket))
        s.sendall(b"tke-cni/1 tke-route-eni 0 500\n{")
        started = time.monotonic()
        with pytest.raises(OSError):  # the server closed: a write fails, or the read below ends the wait
            while time.monotonic() - started < 10:  # NB: the whole frame would take 100 s at this pace
                s.sendall(b" ")
                time.sleep(0.2)
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        raise ConnectionResetError("closed by the server")
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
                    s.settimeout(10)
        assert time.monotonic() - started < 10
    assert agent.ledger.allocations() == []
