"""The real ``tke-eni-agent`` program, started as a subprocess with ``--netns <node>``, against the fake API
server: the test writes the NodeENIConfig status as ipamd would, execs the installed plugin inside the node
namespace as a runtime does, and checks the kernel: pods get IPs and reach the VPC peer; SIGKILL and restart
lose no allocation and leave pods working; drift repair restores a deleted rule; SIGTERM leaves pods intact."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, EniIP, NodeENI, NodeENIConfig, crdgen, ipamd_status_patch
from eni.runtime.client.kube import KubeClient
from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION, ObjectKey
from eni.runtime.testing.apiserver import FakeApiServer

NODE = "node-a"
ENI_MAC = "02:00:0a:1e:00:05"
POD_IPS = [f"10.30.0.{10 + i}" for i in range(6)]
AGENT = Path(sys.executable).parent / "tke-eni-agent"
WAIT = 20.0


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """One node: the agent process for it, its files, and a runtime-style plugin runner."""

    def __init__(self, root, pair, kubeconfig):
        self.root, self.pair, self.kubeconfig = root, pair, kubeconfig
        self.proc = None
        self.port = free_port()
        self.log = root / "agent.log"

    def start(self):
        args = [str(AGENT), "--node-name", NODE, "--netns", self.pair.node.name, "--kubeconfig", str(self.kubeconfig),
                "--cni-bin-dir", str(self.root / "bin"), "--cni-conf-dir", str(self.root / "net.d"),
                "--plugin-interpreter", f"{sys.executable} -IS", "--grpc-socket", str(self.root / "run" / "a.sock"),
                "--json-socket", str(self.root / "run" / "j.sock"), "--state-dir", str(self.root / "state"),
                "--device-plugin-dir", str(self.root / "dp"), "--sync-interval", "0.3s", "--gc-interval", "1s",
                "--health-probe-bind-address", f"127.0.0.1:{self.port}", "--metrics-bind-address",
                f"127.0.0.1:{self.port}", "--log-format", "text"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
        wait_for(lambda: self.ready() or self.proc.poll() is not None, "the agent's /readyz")
        assert self.proc.poll() is None, self.log.read_text()[-3000:]

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def kill(self, sig):
        self.proc.send_signal(sig)
        return self.proc.wait(WAIT)

    def cni(self, command, container, netns):
        conf = json.loads((self.root / "net.d" / "10-tke-eni.conflist").read_text())
        net = {"cniVersion": conf["cniVersion"], "name": conf["name"], **conf["plugins"][0]}
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": "eth0", "CNI_NETNS": netns,
               "CNI_PATH": str(self.root / "bin"), "PATH": os.environ.get("PATH", ""),
               "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={container}"}
        proc = subprocess.run(["ip", "netns", "exec", self.pair.node.name, str(self.root / "bin" / "tke-route-eni")],
                              input=json.dumps(net).encode(), env=env, capture_output=True, timeout=30)
        out = proc.stdout.decode().strip()
        return proc.returncode, (json.loads(out) if out else None)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(WAIT)


@pytest.fixture
def program(node_vpc_pair):
    pair = node_vpc_pair(eni_mac=ENI_MAC, subnet="10.30.0.0/24")
    eni = pair.enis[0]
    root = Path(tempfile.mkdtemp(prefix="prog", dir="/tmp"))
    server = FakeApiServer()
    server.start()
    prog = None
    try:
        server.write_kubeconfig(str(root / "kubeconfig"))
        client = KubeClient.from_api_client(server.api_client())
        client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(NodeENIConfig))
        wait_for(lambda: _listable(client), "the NodeENIConfig CRD")
        client.create(NODE_ENI_CONFIG, {"metadata": {"name": NODE}, "spec": {"instanceId": "ins-1"}})
        status = ipamd_status_patch(enis=[NodeENI(
            eni_id="eni-1", mac=ENI_MAC, primary_ip=str(eni.primary_ip), subnet_id="subnet-1",
            subnet_cidr=str(eni.subnet), gateway=str(eni.gateway), route_table_id="rtb-1",
            ips=tuple(EniIP(ip=ip) for ip in POD_IPS))], conditions=[])
        client.patch(NODE_ENI_CONFIG, ObjectKey("", NODE), status, subresource="status")
        prog = Program(root, pair, root / "kubeconfig")
        prog.client = client
        yield prog
    finally:
        if prog is not None:
            prog.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _listable(client):
    try:
        client.list(NODE_ENI_CONFIG)
        return True
    except Exception:
        return False


def pod_ip(result):
    return result["ips"][0]["address"].split("/")[0]


def in_use(program):
    nec = program.client.get(NODE_ENI_CONFIG, ObjectKey("", NODE))
    return ((nec.get("status") or {}).get("agent") or {}).get("inUseIPs")


def test_the_program_plumbs_pods_in_its_node_namespace_and_survives_sigkill(program, netns_factory):
    program.start()
    pair, eni = program.pair, program.pair.enis[0]
    assert "rp_filter = 0" in pair.node.run("sysctl", f"net.ipv4.conf.{eni.ifname}.rp_filter").stdout
    pods = {name: netns_factory("pod") for name in ("a", "b")}
    ips, hosts = {}, {}
    for name, pod in pods.items():
        code, result = program.cni("ADD", f"c-{name}", pod.path)
        assert code == 0, (result, program.log.read_text()[-2000:])
        ips[name], hosts[name] = pod_ip(result), result["interfaces"][0]["name"]
        pair.route_to_pod(ips[name], eni)
        assert pod.ping(pair.remote_ip), f"pod {name} -> VPC peer"
    wait_for(lambda: in_use(program) == sorted(ips.values()), "status.agent.inUseIPs")

    # Drift repair: a deleted pod rule comes back on the next sync.
    table = pair.node.ip("rule", "show").split(f"from {ips['a']} lookup ")[1].split()[0]
    pair.node.ip("rule", "del", "from", ips["a"], "lookup", table, "priority", "1536")
    wait_for(lambda: f"from {ips['a']} lookup {table}" in pair.node.ip("rule", "show"), "the rule repaired")
    assert pods["a"].ping(pair.remote_ip)

    # SIGKILL: pods keep working while the agent is down; the restart loses no allocation.
    assert program.kill(signal.SIGKILL) == -signal.SIGKILL
    assert pods["b"].ping(pair.remote_ip)
    program.start()
    code, again = program.cni("ADD", "c-a", pods["a"].path)  # the runtime's retry gets the same IP
    assert code == 0 and pod_ip(again) == ips["a"], (again, program.log.read_text()[-3000:])
    new_pod = netns_factory("pod")
    code, result = program.cni("ADD", "c-c", new_pod.path)
    assert code == 0 and pod_ip(result) not in ips.values()
    for name, pod in pods.items():
        assert pod.ping(pair.remote_ip), f"pod {name} after the restart"
    code, _ = program.cni("DEL", "c-b", pods["b"].path)
    assert code == 0 and ips["b"] not in pair.node.ip("rule", "show")
    wait_for(lambda: hosts["b"] not in pair.node.ip("link", "show"), "the veth deleted in the background")
    assert "eth0" not in pods["b"].ip("link", "show")

    # SIGTERM: a clean exit that leaves the pods' networking in place.
    assert program.kill(signal.SIGTERM) == 0
    assert pods["a"].ping(pair.remote_ip)
    assert not (program.root / "run" / "j.sock").exists()
