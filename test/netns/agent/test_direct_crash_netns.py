"""Crash safety of exclusive ENIs with the real kernel: the agent SIGKILLed mid-ADD, after the ENI moved into the
pod and before the runtime got an answer, then restarted on the same state dir. The runtime's DEL brings the ENI
back to the node namespace under its own name (so deleting the pod's namespace strands nothing), and a retried ADD
gets the same ENI."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from eni.agent.install import CniInstallSettings, install
from eni.cni.bundle import ENTRY_POINTS, build_plugin

HERE = Path(__file__).parent
# NB: random per test process: the agent finds stranded exclusive ENIs by scanning every namespace in
# /run/netns, which tests running in parallel share, so a fixed MAC would match another test's link.
SHARED_MAC, DIRECT_MAC = "02:00:0a:14:00:05", "02:5e:" + ":".join(f"{b:02x}" for b in os.urandom(4))


class Node:
    """A node namespace with a shared and an exclusive ENI, the plugins installed, and the agent as a process."""

    def __init__(self, pair, root):
        self.pair, self.root = pair, root
        shared, self.direct = pair.enis
        status = {"enis": [
            {"eniId": "eni-1", "mac": SHARED_MAC, "primaryIP": str(shared.primary_ip), "subnetCIDR": str(shared.subnet),
             "gateway": str(shared.gateway), "type": "route", "ips": [{"ip": "10.20.0.10", "state": "Bound"}]},
            {"eniId": "eni-d1", "mac": DIRECT_MAC, "primaryIP": str(self.direct.primary_ip),
             "subnetCIDR": str(self.direct.subnet), "gateway": str(self.direct.gateway), "type": "direct"}]}
        self.status_file = root / "status.json"
        self.status_file.write_text(json.dumps(status))
        self.socket = root / "run" / "agent.json.sock"
        self.bin_dir = root / "bin"
        install(CniInstallSettings(agent_socket=self.socket, cni_bin_dir=self.bin_dir, cni_conf_dir=root / "net.d"),
                {n: build_plugin(n, interpreter=f"{sys.executable} -IS") for n in ENTRY_POINTS})
        self.proc = None

    def start(self, pause=0.0):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "direct_agent_proc.py"), str(self.root),
                                      self.pair.node.name, str(self.status_file), str(pause)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline().strip() == b"READY"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill()

    def cni(self, command, container, netns):
        conf = {"cniVersion": "1.0.0", "name": "tke-direct-eni", "type": "tke-route-eni",
                "agentSocket": str(self.socket), "timeoutSeconds": 20}
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": "eth0", "CNI_NETNS": netns,
               "CNI_PATH": str(self.bin_dir), "PATH": os.environ.get("PATH", ""),
               "CNI_ARGS": f"K8S_POD_NAMESPACE=default;K8S_POD_NAME={container}"}
        proc = subprocess.run(["ip", "netns", "exec", self.pair.node.name, str(self.bin_dir / "tke-route-eni")],
                              input=json.dumps(conf).encode(), env=env, capture_output=True, timeout=60)
        out = proc.stdout.decode().strip()
        return proc.returncode, (json.loads(out) if out else None)


@pytest.fixture
def node(node_vpc_pair):
    pair = node_vpc_pair(eni_mac=SHARED_MAC, subnet="10.20.0.0/24")
    pair.add_eni(mac=DIRECT_MAC, subnet="10.30.0.0/24")
    root = Path(tempfile.mkdtemp(prefix="ncrash", dir="/tmp"))
    node = Node(pair, root)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


def killed_after_the_move(node, pod):
    """Starts an ADD, SIGKILLs the agent once the ENI sits in the pod, and returns the runtime's answer."""
    node.start(pause=30)
    answers = []
    runtime = threading.Thread(target=lambda: answers.append(node.cni("ADD", "d1", pod.path)))
    runtime.start()
    assert node.proc.stdout.readline().strip() == b"MOVED"
    assert DIRECT_MAC in pod.ip("link", "show", "dev", "eth0")
    node.kill()
    runtime.join(60)
    return answers[0]


def test_the_runtimes_del_after_a_restart_brings_the_eni_home_and_nothing_is_stranded(node, netns_factory):
    pod = netns_factory("pod")
    rc, error = killed_after_the_move(node, pod)
    assert rc == 1 and error["code"] == 11  # the agent vanished: the runtime will retry or tear down

    node.start()
    assert node.cni("DEL", "d1", pod.path) == (0, None)
    assert DIRECT_MAC in node.pair.node.ip("link", "show", "dev", "eni1")
    netns_factory.delete(pod)
    assert DIRECT_MAC in node.pair.node.ip("link", "show", "dev", "eni1")  # still there: it was not in the pod
    assert json.loads((node.root / "state" / "direct-enis.json").read_text())["allocations"] == []


def test_a_retried_add_after_a_restart_gets_the_same_eni(node, netns_factory):
    pod = netns_factory("pod")
    killed_after_the_move(node, pod)

    node.start()
    rc, result = node.cni("ADD", "d1", pod.path)
    assert rc == 0, result
    assert result["interfaces"] == [{"name": "eth0", "mac": DIRECT_MAC, "sandbox": pod.path}]
    assert result["ips"][0]["address"] == f"{node.direct.primary_ip}/24"
    assert pod.ping(node.direct.gateway)
    assert node.cni("DEL", "d1", pod.path) == (0, None)
    assert DIRECT_MAC in node.pair.node.ip("link", "show", "dev", "eni1")
