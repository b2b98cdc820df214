"""Plugins are exec'd exactly as a runtime does: CNI env vars, config on stdin, chained prevResult, DEL in
reverse order with the cached result, runtimeConfig only for declared capabilities, errors decoded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from eni.sim.iproute import netns_exists
from eni.sim.kubelet.cni_exec import CniError, CniExecutor, RuntimeConf, load_network_list
from eni.sim.kubelet.sandbox import SandboxRuntime, SandboxStore

# A recording plugin: appends its name, CNI env and stdin config to a log; ADD adds itself to the result's trace.
PLUGIN = """#!{python} -S
import json, os, sys
conf = json.load(sys.stdin)
me = os.path.basename(sys.argv[0])
env = {{k: v for k, v in os.environ.items() if k.startswith("CNI_")}}
with open({log!r}, "a") as f:
    f.write(json.dumps({{"plugin": me, "env": env, "conf": conf}}) + "\\n")
if conf.get("fail") == env["CNI_COMMAND"]:
    print(json.dumps({{"cniVersion": "1.0.0", "code": 11, "msg": "no free IP", "details": me}}))
    sys.exit(1)
if env["CNI_COMMAND"] == "ADD":
    prev = conf.get("prevResult") or {{"cniVersion": "1.0.0", "ips": [{{"address": "10.0.2.9/32"}}], "trace": []}}
    prev["trace"] = prev["trace"] + [me]
    print(json.dumps(prev))
"""


@pytest.fixture
def plugins(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in ("main-plugin", "chained-plugin"):
        path = bin_dir / name
        path.write_text(PLUGIN.format(python=sys.executable, log=str(log)))
        path.chmod(0o755)
    return bin_dir, log


def _conf_dir(tmp_path, *, fail=""):
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir(exist_ok=True)
    main = {"type": "main-plugin", "agentSocket": "/run/x.sock"}
    if fail:
        main["fail"] = fail
    (conf_dir / "10-test.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "tke-eni",
        "plugins": [main, {"type": "chained-plugin", "capabilities": {"portMappings": True}}]}))
    return conf_dir


def _calls(log: Path):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_add_chains_and_del_unwinds_with_the_cached_result(sim_vpc, plugins, tmp_path):
    bin_dir, log = plugins
    node = sim_vpc.add_node("ap-guangzhou-3", "subnet-gz3a0001")
    runtime = SandboxRuntime(names=sim_vpc.names, store=SandboxStore(tmp_path / "sb"), conf_dir=_conf_dir(tmp_path),
                             executor=CniExecutor(node_netns=node.netns, bin_dirs=[bin_dir]))
    ports = ({"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},)
    record = runtime.create(uid="5d9f-uid", namespace="default", name="web-0", port_mappings=ports)
    assert record.result["trace"] == ["main-plugin", "chained-plugin"] and record.ip == "10.0.2.9"
    assert netns_exists(record.netns)

    runtime.check(record)
    runtime.destroy(record)
    assert not netns_exists(record.netns) and runtime.store.all() == {}

    calls = _calls(log)
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in calls] == [
        ("main-plugin", "ADD"), ("chained-plugin", "ADD"),
        ("main-plugin", "CHECK"), ("chained-plugin", "CHECK"),
        ("chained-plugin", "DEL"), ("main-plugin", "DEL")]
    first = calls[0]
    assert first["env"]["CNI_NETNS"] == f"/run/netns/{record.netns}"
    assert first["env"]["CNI_IFNAME"] == "eth0" and first["env"]["CNI_CONTAINERID"] == record.container_id
    assert "K8S_POD_NAME=web-0" in first["env"]["CNI_ARGS"] and "K8S_POD_NAMESPACE=default" in first["env"]["CNI_ARGS"]
    assert first["env"]["CNI_PATH"] == str(bin_dir)
    assert first["conf"]["name"] == "tke-eni" and first["conf"]["cniVersion"] == "1.0.0"
    assert "prevResult" not in first["conf"] and "runtimeConfig" not in first["conf"]
    chained = calls[1]["conf"]
    assert chained["prevResult"]["trace"] == ["main-plugin"]
    assert chained["runtimeConfig"] == {"portMappings": list(ports)}
    assert all(c["conf"]["prevResult"] == record.result for c in calls[2:])


def test_a_failed_add_is_unwound_and_reported_with_the_plugins_error(sim_vpc, plugins, tmp_path):
    bin_dir, log = plugins
    node = sim_vpc.add_node("ap-guangzhou-3", "subnet-gz3a0001")
    runtime = SandboxRuntime(names=sim_vpc.names, store=SandboxStore(tmp_path / "sb"),
                             conf_dir=_conf_dir(tmp_path, fail="ADD"),
                             executor=CniExecutor(node_netns=node.netns, bin_dirs=[bin_dir]))
    with pytest.raises(CniError) as caught:
        runtime.create(uid="6e0a-uid", namespace="default", name="web-1")
    assert (caught.value.code, caught.value.msg, caught.value.details) == (11, "no free IP", "main-plugin")
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in _calls(log)] == [
        ("main-plugin", "ADD"), ("chained-plugin", "DEL"), ("main-plugin", "DEL")]
    assert runtime.store.all() == {}
    assert not netns_exists(sim_vpc.names.pod("6e0a-uid"))


def test_the_plugins_run_inside_the_node_namespace(sim_vpc, tmp_path):
    node = sim_vpc.add_node("ap-guangzhou-3", "subnet-gz3a0001")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    probe = bin_dir / "where"
    probe.write_text(f"#!{sys.executable} -S\nimport json, os\n"
                     "print(json.dumps({'cniVersion': '1.0.0', 'ns': os.readlink('/proc/self/ns/net')}))\n")
    probe.chmod(0o755)
    (tmp_path / "net.d").mkdir()
    (tmp_path / "net.d" / "1.conf").write_text(json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "where"}))
    executor = CniExecutor(node_netns=node.netns, bin_dirs=[bin_dir])
    result = executor.add(load_network_list(tmp_path / "net.d"), RuntimeConf(container_id="c", netns="/x"))
    node_ns = Path(f"/run/netns/{node.netns}").stat().st_ino
    assert result["ns"] == f"net:[{node_ns}]"
