"""The CNI benchmark's rig: throwaway namespaces, the real agent against a fake API server (its own process),
and a runtime-style executor that execs plugins as a container runtime does (``cni.py`` measures with it).

Nothing is created in the host's own namespace: every link and address lives in a namespace made here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

REFERENCE = Path("/usr/lib/cni")
ENI_MAC = "02:00:0a:1e:00:05"
SUBNET = ipaddress.IPv4Network("10.30.0.0/22")
REF_SUBNET = "10.40.0.0/22"


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


class Namespaces:
    """Named namespaces created here, deleted in ``cleanup``."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, prefix: str) -> str:
        name = f"{prefix}-{secrets.token_hex(4)}"
        sh("ip", "netns", "add", name)
        self.names.append(name)
        return name

    def delete(self, name: str) -> None:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        if name in self.names:
            self.names.remove(name)

    def cleanup(self) -> None:
        for name in list(reversed(self.names)):
            self.delete(name)


def build_vpc(ns: Namespaces) -> tuple[str, str]:
    node, peer = ns.add("bnode"), ns.add("bvpc")
    sh("ip", "link", "add", "name", "eni0", "netns", node, "address", ENI_MAC, "type", "veth",
       "peer", "name", "vpc0", "netns", peer)
    sh("ip", "-n", peer, "addr", "add", f"{next(SUBNET.hosts())}/{SUBNET.prefixlen}", "dev", "vpc0")
    sh("ip", "-n", peer, "link", "set", "vpc0", "up")
    sh("ip", "-n", node, "link", "set", "lo", "up")
    return node, peer


def nec_status(ips: int) -> dict[str, object]:
    hosts = list(SUBNET.hosts())
    return {"enis": [{"eniId": "eni-bench", "mac": ENI_MAC, "primaryIP": str(hosts[1]), "subnetId": "subnet-b",
                      "subnetCIDR": str(SUBNET), "gateway": str(hosts[0]), "routeTableId": "rtb-b", "type": "route",
                      "ips": [{"ip": str(ip), "state": "Bound"} for ip in hosts[10:10 + ips]]}]}


# --- the agent: the real program, against a loopback fake API server -------------------------------------


@contextmanager
def running_agent(node: str, tmp: Path, status: dict[str, object], *, python: str,
                  extra_flags: Sequence[str] = (), profile: str = "") -> Iterator[tuple[int, int]]:
    """Runs ``tke-eni-agent --netns <node>`` with a NodeENIConfig whose status lists the bench's IPs.

    Yields the agent's pid and the port of its health and metrics server."""
    import kubernetes

    from eni.api.v1 import NODE_ENI_CONFIG, NodeENIConfig, crdgen
    from eni.runtime.client.kube import KubeClient
    from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION, ObjectKey

    # NB: the API server runs in a process of its own, as on a real node: in the bench's process its threads
    # would compete with the runtime-style executor for the interpreter lock on our side's calls only.
    kubeconfig = tmp / "kubeconfig"
    server = subprocess.Popen([str(Path(sys.executable).parent / "tke-eni-sim"), "apiserver",
                               "--kubeconfig", str(kubeconfig)],
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "apiserver.log", "wb"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 30
        while not kubeconfig.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fake API server did not start: " + (tmp / "apiserver.log").read_text()[-2000:])
            time.sleep(0.05)
        api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        client = KubeClient.from_api_client(api_client)
        client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(NodeENIConfig))
        deadline = time.monotonic() + 10
        while True:
            try:
                client.list(NODE_ENI_CONFIG)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.create(NODE_ENI_CONFIG, {"metadata": {"name": "bench"}, "spec": {"instanceId": "ins-bench"}})
        client.patch(NODE_ENI_CONFIG, ObjectKey("", "bench"), {"status": status}, subresource="status")
        port = free_port()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "tke-eni-agent"), "--node-name", "bench", "--netns", node,
             "--kubeconfig", str(tmp / "kubeconfig"), "--cni-bin-dir", str(tmp / "bin"), "--cni-conf-dir",
             str(tmp / "net.d"), "--plugin-interpreter", f"{python} -IS", "--state-dir", str(tmp / "state"),
             "--grpc-socket", str(tmp / "agent.sock"), "--json-socket", str(tmp / "agent.json.sock"),
             "--device-plugin-dir", str(tmp / "dp"), "--health-probe-bind-address", f"127.0.0.1:{port}",
             "--metrics-bind-address", f"127.0.0.1:{port}", "--log-level", "warning", "--log-format", "text",
             *extra_flags],
            stderr=open(tmp / "agent.log", "wb"),
            env={**os.environ, "ENI_AGENT_CPU_PROFILE": profile} if profile else None)
        deadline = time.monotonic() + 30
        while not ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the agent did not become ready: " + (tmp / "agent.log").read_text()[-2000:])
            time.sleep(0.05)
        yield proc.pid, port
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def installed_conf(conf_dir: Path) -> dict[str, object]:
    """The main plugin's config as a runtime derives it from the conflist the agent installed (as libcni does)."""
    [path] = conf_dir.glob("*.conflist")
    conflist = json.loads(path.read_text())
    main = conflist["plugins"][0]
    if main.get("type") != "tke-route-eni":
        raise RuntimeError(f"unexpected first plugin in {path}: {main}")
    return {**main, "cniVersion": conflist["cniVersion"], "name": conflist["name"]}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def served_seconds(port: int) -> dict[str, tuple[float, int]]:
    """The agent's own time per method so far: ``{method: (seconds summed, requests)}`` from its /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        for suffix in ("_sum", "_count"):
            head = f"tke_eni_agent_request_duration_seconds{suffix}{{method=\""
            if line.startswith(head):
                method, _, value = line[len(head):].partition('"} ')
                values[suffix, method] = float(value)
    return {m: (v, int(values.get(("_count", m), 0))) for (suffix, m), v in values.items() if suffix == "_sum"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """User + system CPU time of the waited-for child processes (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the runtime-style executor -----------------------------------------------------------------------------


@contextmanager
def in_node(node: str) -> Iterator[None]:
    from eni.netlink.namespace import entered

    fd = os.open(f"/run/netns/{node}", os.O_RDONLY)
    try:
        with entered(fd, op=f"ip netns exec {node}"):
            yield
    finally:
        os.close(fd)


def exec_plugin(exe: str, command: str, conf: bytes, *, container: str, netns: str, cni_path: str) -> float:
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
           "CNI_PATH": cni_path, "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME={container}"}
    start = time.perf_counter()
    proc = subprocess.run([exe], input=conf, env=env, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{exe} {command} {container}: {proc.stdout.decode()} {proc.stderr.decode()}")
    return elapsed * 1000


_LINK_NAME = re.compile(r"^\d+: ([^:@]+)[@:]", re.MULTILINE)


def link_names(node: str) -> set[str]:
    return set(_LINK_NAME.findall(sh("ip", "-n", node, "-o", "link", "show")))


class Runtime:
    """Execs one network (a main plugin + config) for pods, from threads inside the node namespace.

    ``background_deletes``: DEL returns before the pod's host veth is gone (the agent deletes it in the
    background); ``settle`` then waits for that, so that it never loads the machine while the other side is
    measured."""

    def __init__(self, node: str, ns: Namespaces, exe: str, conf: dict[str, object], cni_path: str, *,
                 background_deletes: bool = False) -> None:
        self.node, self.ns, self.exe, self.cni_path = node, ns, exe, cni_path
        self.conf = json.dumps(conf).encode()
        self.network = str(conf["name"])
        self.background_deletes = background_deletes
        self._deleting: set[str] = set()

    def settle(self, *, timeout: float = 60.0) -> None:
        """Returns once the host veths of the pods this side deleted are gone (not timed)."""
        deadline = time.monotonic() + timeout
        while self._deleting:
            self._deleting &= link_names(self.node)
            if not self._deleting:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sorted(self._deleting)[:3]} still in {self.node} after {timeout:.0f}s")
            time.sleep(0.005)

    def call(self, command: str, pod: str) -> float:
        with in_node(self.node):
            elapsed = exec_plugin(self.exe, command, self.conf, container=pod, netns=f"/run/netns/{pod}",
                                  cni_path=self.cni_path)
        if command == "DEL" and self.background_deletes:
            from eni.agent.podnet import host_ifname_for

            self._deleting.add(host_ifname_for(self.network, pod, "eth0"))
        return elapsed

    def sequential(self, pods: list[str]) -> tuple[list[float], list[float]]:
        adds = [self.call("ADD", p) for p in pods]
        dels = [self.call("DEL", p) for p in pods]
        self.settle()
        return adds, dels

    def burst(self, pods: list[str]) -> tuple[list[float], float]:
        with ThreadPoolExecutor(len(pods)) as pool:
            start = time.perf_counter()
            adds = list(pool.map(lambda p: self.call("ADD", p), pods))
            wall = (time.perf_counter() - start) * 1000
            list(pool.map(lambda p: self.call("DEL", p), pods))
        self.settle()
        return adds, wall
