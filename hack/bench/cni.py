#!/usr/bin/env python3
"""CNI ADD/DEL latency of tke-route-eni (through the real agent) next to Debian's ptp + host-local.

Run as root from the repository: ``.venv/bin/python hack/bench/cni.py [--pods 100] [--burst 50]``.
It builds its own throwaway namespaces (a node, a VPC peer, one namespace per pod; random names, all
removed at the end, also on failure), runs the real ``tke-eni-agent --netns <node>`` against a loopback
fake API server holding the node's NodeENIConfig (the agent installs the plugins; its resident memory is
measured with 200 pods), and execs the plugins the way a container runtime does: a fresh process per
call, CNI env vars, config on stdin (ours: the plugin config of the conflist the agent installed), from a
thread inside the node namespace.
Prints p50/p90/p99 in milliseconds and the ratio ours/reference. ``--agent-profile FILE`` also writes a CPU profile
of every agent thread (``ENI_AGENT_CPU_PROFILE``; read it with ``python -m pstats FILE``; latencies are then not
comparable).
Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
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


class Runtime:
    """Execs one network (a main plugin + config) for pods, from threads inside the node namespace."""

    def __init__(self, node: str, ns: Namespaces, exe: str, conf: dict[str, object], cni_path: str) -> None:
        self.node, self.ns, self.exe, self.cni_path = node, ns, exe, cni_path
        self.conf = json.dumps(conf).encode()

    def call(self, command: str, pod: str) -> float:
        with in_node(self.node):
            return exec_plugin(self.exe, command, self.conf, container=pod, netns=f"/run/netns/{pod}",
                               cni_path=self.cni_path)

    def sequential(self, pods: list[str]) -> tuple[list[float], list[float]]:
        adds = [self.call("ADD", p) for p in pods]
        dels = [self.call("DEL", p) for p in pods]
        return adds, dels

    def burst(self, pods: list[str]) -> tuple[list[float], float]:
        with ThreadPoolExecutor(len(pods)) as pool:
            start = time.perf_counter()
            adds = list(pool.map(lambda p: self.call("ADD", p), pods))
            wall = (time.perf_counter() - start) * 1000
            list(pool.map(lambda p: self.call("DEL", p), pods))
        return adds, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def row(label: str, ours: list[float], ref: list[float]) -> str:
    cells = []
    for q in (50, 90, 99):
        a, b = pct(ours, q), pct(ref, q)
        cells.append(f"p{q} {a:6.1f} / {b:6.1f} ({a / b:4.2f})")
    return f"{label:<22}" + "   ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--burst-rounds", type=int, default=3, help="bursts per side, alternating")
    parser.add_argument("--memory-pods", type=int, default=200)
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter in the plugins' shebang")
    parser.add_argument("--agent-profile", default="", metavar="FILE", help="write the agent's CPU profile here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    return bench(args)


def bench(args: argparse.Namespace) -> int:
    ns = Namespaces()
    tmp = Path(tempfile.mkdtemp(prefix="cnibench", dir="/tmp"))
    try:
        node, _peer = build_vpc(ns)
        status = nec_status(args.pods + args.burst * args.burst_rounds + args.memory_pods + 10)
        profile = str(Path(args.agent_profile).resolve()) if args.agent_profile else ""
        with running_agent(node, tmp, status, python=args.python, profile=profile) as (agent_pid, agent_port):
            ours = Runtime(node, ns, str(tmp / "bin" / "tke-route-eni"), installed_conf(tmp / "net.d"),
                           f"{tmp / 'bin'}:{REFERENCE}")
            ref = Runtime(node, ns, str(REFERENCE / "ptp"),
                          {"cniVersion": "1.0.0", "name": "ref", "type": "ptp",
                           "ipam": {"type": "host-local", "ranges": [[{"subnet": REF_SUBNET}]],
                                    "dataDir": str(tmp / "host-local")}}, str(REFERENCE))

            def make(prefix: str, n: int) -> list[str]:
                return [ns.add(prefix) for _ in range(n)]

            results = run_all(args, ours, ref, make, agent_pid, agent_port)
            pods = make("bmem", args.memory_pods)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda p: ours.call("ADD", p), pods))
                rss = rss_mib(agent_pid)
                list(pool.map(lambda p: ours.call("DEL", p), pods))
        report(args, results, rss)
        if profile:
            print(f"agent CPU profile: {profile} (python -m pstats {profile})")
        return 0
    finally:
        ns.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class Results:
    seq_ours: tuple[list[float], list[float]]
    seq_ref: tuple[list[float], list[float]]
    burst_ours: tuple[list[float], list[float]]
    burst_ref: tuple[list[float], list[float]]
    start_ours: list[float]
    start_ref: list[float]
    start_bare: list[float]
    start_floor: list[float]  # the interpreter started and ended without its teardown, as the plugin ends
    agent_ms: dict[str, float]  # mean time the agent itself spent per sequential ADD / DEL
    cpu_ms: dict[str, float]  # mean CPU time per sequential ADD / DEL: "<verb> ours|plugin|ref"


def run_all(args: argparse.Namespace, ours: Runtime, ref: Runtime,
            make: Callable[[str, int], list[str]], agent_pid: int, agent_port: int) -> Results:
    # Start-up first: after the bursts the agent is still deleting veths in the background, which would load
    # the machine while the bare interpreter and VERSION are timed.
    bare = [startup_ms_of([args.python, "-IS", "-c", "pass"]) for _ in range(30)]
    floor = [startup_ms_of([args.python, "-IS", "-c", "import posix; posix._exit(0)"]) for _ in range(30)]
    start_ours, start_ref = startup_ms(ours.exe), startup_ms(ref.exe)
    # Warm both paths once (page cache, the agent's first netlink calls), then interleave the measurements.
    for runtime, prefix in ((ours, "bwo"), (ref, "bwr")):
        runtime.sequential(make(prefix, 3))
    # NB: the machine is shared, so load drifts: sequential pods alternate ours/reference one by one, and the
    # burst runs in rounds that alternate too, so that both sides see the same conditions.
    seq_ours: tuple[list[float], list[float]] = ([], [])
    seq_ref: tuple[list[float], list[float]] = ([], [])
    pairs = list(zip(make("bso", args.pods), make("bsr", args.pods), strict=True))
    agent_ms: dict[str, float] = {}
    cpu_ms: dict[str, float] = {}
    for command, index in (("ADD", 0), ("DEL", 1)):
        method = command.capitalize()
        before = served_seconds(agent_port).get(method, (0.0, 0))
        agent_cpu = cpu_seconds(agent_pid)
        children = {"ours": 0.0, "ref": 0.0}
        for mine, theirs in pairs:
            for side, runtime, pod, into in (("ours", ours, mine, seq_ours), ("ref", ref, theirs, seq_ref)):
                spent = children_cpu_seconds()
                into[index].append(runtime.call(command, pod))
                children[side] += children_cpu_seconds() - spent
        agent_cpu = cpu_seconds(agent_pid) - agent_cpu  # NB: before the /metrics scrape, which costs the agent too
        after = served_seconds(agent_port).get(method, (0.0, 0))
        agent_ms[command] = 1000 * (after[0] - before[0]) / max(1, after[1] - before[1])
        cpu_ms[f"{command} ours"] = 1000 * (children["ours"] + agent_cpu) / len(pairs)
        cpu_ms[f"{command} plugin"] = 1000 * children["ours"] / len(pairs)
        cpu_ms[f"{command} ref"] = 1000 * children["ref"] / len(pairs)
    burst_ours: tuple[list[float], list[float]] = ([], [])
    burst_ref: tuple[list[float], list[float]] = ([], [])
    for _ in range(args.burst_rounds):
        for runtime, prefix, into in ((ours, "bbo", burst_ours), (ref, "bbr", burst_ref)):
            adds, wall = runtime.burst(make(prefix, args.burst))
            into[0].extend(adds)
            into[1].append(wall)
    return Results(seq_ours, seq_ref, burst_ours, burst_ref, start_ours, start_ref, bare, floor, agent_ms, cpu_ms)


def startup_ms_of(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, input=b'{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                   capture_output=True, timeout=30, check=True)
    return (time.perf_counter() - start) * 1000


def startup_ms(exe: str, runs: int = 30) -> list[float]:
    """Wall time of ``<exe>`` with CNI_COMMAND=VERSION: the cost of starting the plugin at all."""
    return [startup_ms_of([exe]) for _ in range(runs)]


def report(args: argparse.Namespace, results: Results, rss: float) -> None:
    (o_add, o_del), (r_add, r_del) = results.seq_ours, results.seq_ref
    (b_o, wall_o), (b_r, wall_r) = results.burst_ours, results.burst_ref
    print(f"CNI latency in ms, ours (tke-route-eni + agent) / reference (ptp + host-local) (ratio); "
          f"{os.cpu_count()} CPUs, plugin python {args.python}")
    print(row(f"ADD x{args.pods} sequential", o_add, r_add))
    print(row(f"DEL x{args.pods} sequential", o_del, r_del))
    print(row(f"ADD burst of {args.burst} x{args.burst_rounds}", b_o, b_r))
    w_o, w_r = statistics.median(wall_o), statistics.median(wall_r)
    print(f"{'burst wall (median)':<22}{w_o:6.1f} / {w_r:6.1f} ({w_o / w_r:4.2f})")
    print(f"mean ADD sequential    {statistics.fmean(o_add):6.1f} / {statistics.fmean(r_add):6.1f}")
    print(row("VERSION (start-up)", results.start_ours, results.start_ref)
          + "  (ours: through the agent, as every verb)")
    print(f"{'bare interpreter':<22}p50 {pct(results.start_bare, 50):6.1f}  ({args.python} -IS -c pass); "
          f"{pct(results.start_floor, 50):.1f} ending with posix._exit as the plugin does")
    print(f"{'agent share (mean)':<22}ADD {results.agent_ms['ADD']:6.1f}   DEL {results.agent_ms['DEL']:6.1f}"
          "  (the agent's own time per sequential request, from its /metrics)")
    cpu = results.cpu_ms
    for verb in ("ADD", "DEL"):
        print(f"{'CPU per ' + verb + ' (mean)':<22}{cpu[verb + ' ours']:6.1f} / {cpu[verb + ' ref']:6.1f} "
              f"({cpu[verb + ' ours'] / cpu[verb + ' ref']:4.2f})  ours: plugin {cpu[verb + ' plugin']:.1f} + agent "
              f"{cpu[verb + ' ours'] - cpu[verb + ' plugin']:.1f} (all its threads); reference: ptp + host-local")
    print(f"agent RSS with {args.memory_pods} pods: {rss:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
