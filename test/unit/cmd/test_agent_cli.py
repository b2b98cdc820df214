"""tke-eni-agent's command line: daemon flags, validation, env overrides, and the ipam and uninstall subcommands."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.deviceplugin import DEFAULT_PLUGIN_DIR
from eni.agent.ledger import DEFAULT_COOLDOWN, Ledger
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import parse_pool
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService
from eni.api.v1 import EniIP, NodeENI, ipamd_status_patch
from eni.cni.client import call
from tke_eni_agent import main as agent
from tke_eni_agent import uninstall as uninstaller
from tke_eni_agent import wiring

FLAGS = ["--node-name", "--netns", "--sync-interval", "--kubeconfig", "--kube-client-qps", "--kube-client-burst",
         "--cni-bin-dir",
         "--cni-conf-dir", "--plugin-interpreter", "--port-mapping", "--grpc-socket", "--json-socket",
         "--state-dir", "--ip-cooldown", "--gc-interval", "--gc-grace", "--enable-quick-release",
         "--device-plugin-dir", "--metrics-bind-address", "--health-probe-bind-address", "--log-level",
         "--log-format"]


@pytest.fixture
def started(monkeypatch):
    seen = []
    monkeypatch.setattr(wiring, "start", lambda settings: seen.append(settings) or 0)
    return seen


def test_help_lists_every_flag_and_the_subcommands(capsys):
    assert agent.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in FLAGS:
        assert re.search(rf"^\s+{re.escape(flag)}\b", out, re.M), flag
    for section in ("Node:", "CNI plugins:", "Agent API:", "Pod IPs:", "Device plugins:", "Commands:"):
        assert f"\n{section}\n" in out
    assert re.search(r"^\s+ipam\s", out, re.M) and re.search(r"^\s+uninstall\s", out, re.M)
    assert "NODE_NAME" in out


def test_defaults(started):
    assert agent.main(["--node-name", "node-1"]) == 0
    s = started[-1]
    assert (s.node.node_name, s.node.netns) == ("node-1", "")
    assert (s.cni.bin_dir, s.cni.conf_dir) == (Path("/opt/cni/bin"), Path("/etc/cni/net.d"))
    assert not s.cni.port_mapping and s.cni.plugin_interpreter.startswith("/usr/bin/env")
    assert (s.api.grpc_socket, s.api.json_socket) == (Path("/run/tke-eni/agent.sock"),
                                                      Path("/run/tke-eni/agent.json.sock"))
    assert s.ipam.state_dir == Path("/var/lib/tke-eni")
    assert (s.ipam.ip_cooldown, s.ipam.gc_grace) == (timedelta(seconds=30), timedelta(seconds=60))
    assert s.device_plugin.plugin_dir == Path("/var/lib/kubelet/device-plugins")
    assert (s.kube.qps, s.kube.burst) == (5.0, 10)


def test_defaults_agree_with_the_agent_code(started):
    assert agent.main(["--node-name", "n"]) == 0
    s = started[-1]
    assert s.ipam.ip_cooldown.total_seconds() == DEFAULT_COOLDOWN
    assert s.device_plugin.plugin_dir == DEFAULT_PLUGIN_DIR


def test_node_name_from_node_name_or_eni_node_name(started, monkeypatch):
    monkeypatch.setenv("NODE_NAME", "from-downward-api")
    assert agent.main([]) == 0 and started[-1].node.node_name == "from-downward-api"
    monkeypatch.setenv("ENI_NODE_NAME", "explicit")
    assert agent.main([]) == 0 and started[-1].node.node_name == "explicit"
    assert agent.main(["--node-name", "flag"]) == 0 and started[-1].node.node_name == "flag"


def test_environment_overrides(started, monkeypatch):
    monkeypatch.setenv("ENI_IP_COOLDOWN", "1m")
    monkeypatch.setenv("ENI_PORT_MAPPING", "1")
    monkeypatch.setenv("ENI_CNI_BIN_DIR", "/usr/lib/cni")
    assert agent.main(["--node-name", "n"]) == 0
    s = started[-1]
    assert s.ipam.ip_cooldown == timedelta(minutes=1) and s.cni.port_mapping and s.cni.bin_dir == Path("/usr/lib/cni")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "'--node-name': is required (or set NODE_NAME)"),
        (["--node-name", "Node_1"], "'Node_1' is not a valid node name"),
        (["--node-name", "n", "--netns", "../x"], "'--netns': '../x' is neither a namespace name"),
        (["--node-name", "n", "--cni-bin-dir", "bin"], "'--cni-bin-dir': 'bin' must be an absolute path"),
        (["--node-name", "n", "--state-dir", "state"], "'--state-dir'"),
        (["--node-name", "n", "--json-socket", "/run/" + "x" * 120], "'--json-socket': a unix socket path holds"),
        (["--node-name", "n", "--json-socket", "/run/tke-eni/agent.sock"], "must differ from --grpc-socket"),
        (["--node-name", "n", "--ip-cooldown", "-1s"], "'--ip-cooldown'"),
        (["--node-name", "n", "--gc-interval", "0"], "'--gc-interval': must be longer than 0s"),
        (["--node-name", "n", "--plugin-interpreter", "python3"], "'--plugin-interpreter': must be an absolute"),
        (["--node-name", "n", "--metrics-bind-address", "9100"], "'--metrics-bind-address'"),
        (["--node-name", "n", "--kube-client-burst", "2", "--kube-client-qps", "5"], "'--kube-client-burst'"),
        (["--node-name", "n", "--log-level", "verbose"], "'--log-level'"),
    ],
)
def test_invalid_settings_are_refused(started, capsys, args, message):
    assert agent.main(args) == 2
    assert message in capsys.readouterr().err
    assert started == []


def test_the_daemon_without_its_node_namespace_exits_1_with_the_reason(capsys, short_dir):
    assert agent.main(["--node-name", "n", "--netns", "tke-eni-no-such-ns-4a1", "--log-format", "text",
                       "--state-dir", str(short_dir)]) == 1
    assert "cannot open the node's network namespace" in capsys.readouterr().err
    assert list(short_dir.iterdir()) == []


def test_the_daemon_without_a_cluster_exits_1_with_the_reason(capsys, short_dir):
    assert agent.main(["--node-name", "n", "--kubeconfig", str(short_dir / "missing"), "--log-format", "text",
                       "--state-dir", str(short_dir / "state"), "--json-socket", str(short_dir / "j.sock"),
                       "--grpc-socket", str(short_dir / "g.sock")]) == 1
    assert "tke-eni-agent: cannot start:" in capsys.readouterr().err
    assert list(short_dir.iterdir()) == []  # nothing served, nothing written


def test_subcommands_do_not_need_the_daemon_flags(started, short_dir, capsys):
    assert agent.main(["uninstall", "--cni-bin-dir", str(short_dir), "--cni-conf-dir", str(short_dir)]) == 0
    assert "nothing to remove" in capsys.readouterr().out and started == []


# ---- ipam, against the real agent servers -----------------------------------------------------------------

def nec_status_wire():
    """A NodeENIConfig status as ipamd publishes it, which the agent reads."""
    eni = NodeENI(eni_id="eni-a", mac="02:00:00:00:00:0a", primary_ip="10.0.1.10", subnet_id="subnet-a",
                  subnet_cidr="10.0.1.0/24", gateway="10.0.1.1", route_table_id="rtb-1",
                  ips=tuple(EniIP(ip=f"10.0.1.{20 + i}") for i in range(3)))
    return ipamd_status_patch(enis=[eni], conditions=[])["status"]


@pytest.fixture
def running_agent(short_dir):
    ledger = Ledger(JsonFileCheckpointer.at(short_dir / "state" / "ledger.json"))
    service = AgentService(ledger, FakePodNetworker())
    service.update_pool(parse_pool(nec_status_wire()), {"02:00:00:00:00:0a": 2003})
    settings = ServerSettings(grpc_socket=short_dir / "a.sock", json_socket=short_dir / "a.json.sock",
                              connection_timeout=2.0)
    servers = AgentServers(service, settings)
    servers.start()
    yield settings.json_socket
    servers.stop(grace=0.5)


def allocate(socket, container, namespace, name):
    reply = call(str(socket), "Ipam/Allocate", {"key": {"networkName": "tke", "containerId": container,
                                                        "ifname": "eth0"},
                                                "pod": {"namespace": namespace, "name": name}}, timeout=5)
    return reply["allocation"]["ip"]


def test_ipam_lists_the_running_agents_allocations(running_agent, capsys):
    ips = {allocate(running_agent, "c0ffee0000000001aa", "default", "web-1"),
           allocate(running_agent, "c0ffee0000000002bb", "kube-system", "dns")}
    assert agent.main(["ipam", "--json-socket", str(running_agent)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["POD", "CONTAINER", "IP", "ENI", "AGE"]
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == ["default/web-1", "kube-system/dns"]
    assert [row[1] for row in rows] == ["c0ffee000000", "c0ffee000000"]
    assert {row[2] for row in rows} == ips and {row[3] for row in rows} == {"eni-a"}
    assert all(re.fullmatch(r"\d+s", row[4]) for row in rows)


def test_ipam_json_output(running_agent, capsys, monkeypatch):
    ip = allocate(running_agent, "c1", "ns", "p")
    monkeypatch.setenv("ENI_JSON_SOCKET", str(running_agent))
    assert agent.main(["ipam", "-o", "json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["pod"], entry["container"], entry["ip"], entry["eni"]) == ("ns/p", "c1", ip, "eni-a")


def test_ipam_without_a_running_agent_fails_clearly(short_dir, capsys):
    assert agent.main(["ipam", "--json-socket", str(short_dir / "none.sock"), "--timeout", "1s"]) == 1
    assert "the tke-eni agent is unreachable" in capsys.readouterr().err


# ---- uninstall ------------------------------------------------------------------------------------------

def test_uninstall_removes_only_our_plugins_and_configs(tmp_path, capsys):
    bin_dir, conf_dir = tmp_path / "bin", tmp_path / "net.d"
    bin_dir.mkdir()
    conf_dir.mkdir()
    for name in ("tke-route-eni", "tke-eni-ipamc", "portmap", "ptp"):
        (bin_dir / name).write_bytes(b"#!/bin/sh\n")
    ours = conf_dir / "10-tke-eni.conflist"
    ours.write_text(json.dumps({"cniVersion": "1.0.0", "name": "tke", "plugins": [
        {"type": "tke-route-eni"}, {"type": "portmap", "capabilities": {"portMappings": True}}]}))
    theirs = conf_dir / "20-ptp.conflist"
    theirs.write_text(json.dumps({"cniVersion": "1.0.0", "name": "p", "plugins": [
        {"type": "ptp", "ipam": {"type": "tke-eni-ipamc"}}]}))
    garbage = conf_dir / "99-broken.conf"
    garbage.write_text("{not json")
    args = ["uninstall", "--cni-bin-dir", str(bin_dir), "--cni-conf-dir", str(conf_dir)]

    assert agent.main([*args, "--dry-run"]) == 0
    assert "would remove" in capsys.readouterr().out and ours.exists()

    assert agent.main(args) == 0
    out = capsys.readouterr().out
    assert f"removed {ours}" in out and f"removed {bin_dir / 'tke-route-eni'}" in out
    assert sorted(p.name for p in bin_dir.iterdir()) == ["portmap", "ptp"]
    assert sorted(p.name for p in conf_dir.iterdir()) == ["20-ptp.conflist", "99-broken.conf"]

    assert agent.main(args) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_uninstall_skips_directories_and_symlinks_named_like_plugins(tmp_path):
    (tmp_path / "tke-route-eni").mkdir()
    (tmp_path / "tke-eni-ipamc").symlink_to("/bin/true")
    assert uninstaller.uninstall(bin_dir=tmp_path, conf_dir=tmp_path / "missing") == uninstaller.Removal((), ())
    assert (tmp_path / "tke-route-eni").is_dir() and (tmp_path / "tke-eni-ipamc").is_symlink()
