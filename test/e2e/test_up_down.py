"""``up`` with a world file and an instance type, what it writes to state.json, and ``down`` after an ``up``
that was killed half-way: nothing of the cluster may survive it."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from eni.sim.iproute import list_netns
from eni.sim.kube import KubeApi
from eni.sim.procs import alive, reap_children, stray_processes
from eni.sim.statedir import StateDir, read_json

SIM = str(Path(sys.executable).parent / "tke-eni-sim")

WORLD = """\
region: ap-guangzhou
zones: [ap-guangzhou-3]
vpc: {id: vpc-world001, cidr: 10.8.0.0/16}
subnets:
  - {id: subnet-world001, zone: ap-guangzhou-3, cidr: 10.8.1.0/24, name: only}
instanceTypes:
  S5.TINY: {cpu: 1, memory: 1, eni: 2, ipPerEni: 6, extendEni: 0, extendIpPerEni: 0}
"""

NODE_KEYS = {"name", "netns", "instance_id", "zone", "primary_ip", "cni_bin_dir", "cni_conf_dir", "agent_socket"}


@pytest.fixture
def state():
    parent = Path(tempfile.mkdtemp(prefix="tke-eni-e2e-updown-"))
    path = StateDir(parent / "cluster")
    yield path
    subprocess.run([SIM, "down", "--state-dir", str(path.path), "--purge"], capture_output=True, timeout=120,
                   check=False)
    reap_children()
    shutil.rmtree(parent, ignore_errors=True)


def _ours(prefix: str) -> list[str]:
    return [ns for ns in list_netns() if prefix and ns.startswith(prefix + "-")]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_up_takes_the_world_and_instance_type_and_down_removes_everything_twice(state, tmp_path):
    world = tmp_path / "world.yaml"
    world.write_text(WORLD)
    up = subprocess.run([SIM, "up", "--state-dir", str(state.path), "--nodes", "2", "--zones", "1",
                         "--instance-type", "S5.TINY", "--world", str(world), "--ready-timeout", "90"],
                        capture_output=True, text=True, timeout=180, check=False)
    assert up.returncode == 0, up.stderr[-3000:]
    summary = json.loads((state.path / "state.json").read_text())
    assert Path(summary["kubeconfig"]).is_file()
    assert set(summary["cloud"]) >= {"endpoint", "region", "secret_id", "secret_key"}
    assert summary["cloud"]["region"] == "ap-guangzhou"
    assert summary["scheduler_extender"] is None  # non-static: no extender runs
    assert [n["name"] for n in summary["nodes"]] == ["node-1", "node-2"]
    for node in summary["nodes"]:
        assert set(node) >= NODE_KEYS
        assert node["zone"] == "ap-guangzhou-3"
        assert ipaddress.ip_address(node["primary_ip"]) in ipaddress.ip_network("10.8.1.0/24")
        assert node["netns"] in list_netns()
    assert read_json(state.path / "cloud.json")["vpc_id"] == "vpc-world001"
    api = KubeApi(state.kubeconfig)
    try:
        nodes = {n["metadata"]["name"]: n for n in api.list_nodes()["items"]}
    finally:
        api.close()
    for node in summary["nodes"]:
        labels = nodes[node["name"]]["metadata"]["labels"]
        assert labels["node.kubernetes.io/instance-type"] == "S5.TINY"
        assert labels["topology.kubernetes.io/zone"] == "ap-guangzhou-3"
        assert nodes[node["name"]]["spec"]["providerID"].endswith(node["instance_id"])

    prefix = summary["prefix"]
    processes = state.processes()
    for _ in range(2):
        down = subprocess.run([SIM, "down", "--state-dir", str(state.path)], capture_output=True, text=True,
                              timeout=120, check=False)
        assert down.returncode == 0, down.stderr
        assert _ours(prefix) == []
        assert not any(alive(p, state) for p in processes)
    assert not (state.path / "state.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_down_after_a_killed_up_stops_its_processes_and_removes_its_namespaces(state):
    up = subprocess.Popen([SIM, "up", "--state-dir", str(state.path), "--nodes", "2", "--ready-timeout", "90"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("agent-") for p in state.processes()):
            assert up.poll() is None, "up ended before it started the agents"
            assert time.monotonic() < deadline, "up never started the agents"
            time.sleep(0.1)
    finally:
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
    prefix = str(state.cluster()["prefix"])
    processes = state.processes()
    assert _ours(prefix) and any(alive(p, state) for p in processes)

    down = subprocess.run([SIM, "down", "--state-dir", str(state.path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    assert _ours(prefix) == []
    assert not any(alive(p, state) for p in processes)
    assert stray_processes(state) == [], "down left a process that names the state dir running"
