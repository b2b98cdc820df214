"""``up``: brings a whole local cluster up, each component in its own process, and waits until it is usable.

Order: state dir records (prefix, credentials) -> fake API server -> emulator with the VPC data plane ->
CRDs -> per node a CVM instance, its namespace and ``eth0`` -> ipamd (leader-elected replicas), one agent
and one kubelet stand-in per node, the extender (static mode) and the scheduler stand-in -> wait until every
node is Ready, its agent registered the eni-ip device plugin and (non-static) its warm pool is bound, with a
free exclusive ENI attached where the instance type allows any.

Everything created is recorded in the state dir before it is created, so ``teardown.down`` removes it even
after a crash here. Servers listen on 127.0.0.1 only; no address, route or link goes into the host namespace.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eni.sim.dataplane import VpcDataPlane
from eni.sim.kube import KubeApi
from eni.sim.names import SimNames, new_prefix
from eni.sim.procs import alive, program, spawn
from eni.sim.scheduler import DIRECT_ENI_RESOURCE, ENI_IP_RESOURCE, node_ready
from eni.sim.statedir import StateDir, read_json
from eni.sim.ui import Progress

CLUSTER_ID = "cls-tkeenisim"
DEFAULT_INSTANCE_TYPE = "S5.LARGE8"
"""4 shared ENIs of 10 IPs, and 4 exclusive (extension) ENIs, so that direct-eni pods run too."""
START_TIMEOUT = 30.0
PROGRAMS = ("tke-eni-ipamd", "tke-eni-agent", "tke-eni-ip-scheduler", "tke-eni-sim")


class UpError(RuntimeError):
    """The cluster could not be brought up; the message says which part and where its log is."""


@dataclass(frozen=True, slots=True)
class UpConfig:
    nodes: int = 3
    zones: int = 2
    mode: str = "non-static"
    instance_type: str = DEFAULT_INSTANCE_TYPE
    world: Path | None = None
    ipamd_replicas: int = 2
    min_warm: int = 2
    max_warm: int = 6
    task_delay: float = 0.05
    ready_timeout: float = 90.0
    ipamd_kube_qps: float = 50.0
    """ipamd's API-server budget. Static mode writes several objects per pod (claim and its status, VpcIP,
    NEC status); at the client's default of 10 requests/s a 40-pod burst waits ~20 s on the limiter alone."""
    ipamd_kube_burst: int = 100
    programs: tuple[tuple[str, str], ...] = ()
    """(console script name, path) pairs that replace the installed programs, e.g. a locally built agent."""

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= 20:
            raise ValueError("--nodes must be between 1 and 20")
        if self.zones < 1:
            raise ValueError("--zones must be at least 1")
        if self.mode not in ("non-static", "static"):
            raise ValueError("--mode must be non-static or static")
        if not 0 <= self.min_warm <= self.max_warm:
            raise ValueError("warm targets must satisfy 0 <= min <= max")
        for name, _ in self.programs:
            if name not in PROGRAMS:
                raise ValueError(f"unknown program {name!r}; one of {', '.join(PROGRAMS)}")

    def program(self, name: str) -> str:
        return dict(self.programs).get(name) or program(name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], str | None], *, timeout: float, progress: Progress,
               failed: Callable[[], str | None] = lambda: None, interval: float = 0.3) -> None:
    """Poll ``check`` (None when done, else what is still missing) until done; UpError on timeout or failure."""
    deadline = time.monotonic() + timeout
    while True:
        problem = failed()
        if problem:
            progress.end_wait()
            raise UpError(problem)
        try:
            missing = check()
        except Exception as e:  # a server still starting up: keep waiting
            missing = f"{type(e).__name__}: {e}"
        if missing is None:
            progress.end_wait()
            return
        if time.monotonic() >= deadline:
            progress.end_wait()
            raise UpError(f"timed out after {timeout:.0f}s waiting for {missing}")
        progress.waiting(missing)
        time.sleep(interval)


class ClusterBuilder:
    """Runs the ``up`` sequence against one state dir."""

    def __init__(self, state: StateDir, cfg: UpConfig, progress: Progress) -> None:
        self.state, self.cfg, self.progress = state, cfg, progress
        self.sim = cfg.program("tke-eni-sim")

    def _died(self, *names: str) -> str | None:
        for record in self.state.processes():
            if (not names or record.name in names) and not alive(record, self.state):
                return self._exited(record.name)
        return None

    def _exited(self, name: str) -> str:
        log_file = self.state.logs / f"{name}.log"
        try:
            last = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()][-1:]
        except OSError:
            last = []
        return f"{name} exited" + (f" ({last[0][:300]})" if last else "") + f"; see {log_file}"

    def up(self) -> dict[str, Any]:
        if any(alive(p, self.state) for p in self.state.processes()) or self.state.cluster():
            raise UpError(f"{self.state.path} already holds a cluster (running or crashed); "
                          "run `tke-eni-sim down` on it first")
        self.state.path.mkdir(parents=True, exist_ok=True)
        cluster: dict[str, Any] = {
            "prefix": new_prefix(), "secret_id": "AKIDsim" + secrets.token_hex(8), "secret_key": secrets.token_hex(16),
            "cluster_id": CLUSTER_ID, "mode": self.cfg.mode, "world": str(self.cfg.world or ""), "nodes": [],
        }
        self.state.write_cluster(cluster)
        self.progress.step(f"state dir {self.state.path} (namespaces prefixed {cluster['prefix']})")
        self._start_apiserver()
        cloud = self._start_vpc()
        cluster["region"] = cloud["region"]
        self.state.write_cluster(cluster)
        api = KubeApi(self.state.kubeconfig)
        try:
            self._apply_crds(api)
            self._add_nodes(cluster, cloud)
            extender = self._start_components(cluster, cloud)
            summary = self.summary(cluster, cloud, extender)
            self.state.write_state(summary)
            self._wait_ready(api, cluster)
        finally:
            api.close()
        return summary

    def _start_apiserver(self) -> None:
        spawn(self.state, "apiserver", [self.sim, "apiserver", "--listen", "127.0.0.1:0", "--kubeconfig",
                                        str(self.state.kubeconfig), "--state-file",
                                        str(self.state.path / "apiserver.json"), "--graceful-pod-deletion"])
        wait_until(lambda: None if self.state.kubeconfig.exists() else "the API server", timeout=START_TIMEOUT,
                   progress=self.progress, failed=lambda: self._died("apiserver"))
        self.progress.ok("fake Kubernetes API server")

    def _start_vpc(self) -> dict[str, Any]:
        spawn(self.state, "vpc", [self.sim, "vpc", "--state-dir", str(self.state.path), "--task-delay",
                                  str(self.cfg.task_delay)])
        cloud_file = self.state.path / "cloud.json"
        wait_until(lambda: None if cloud_file.exists() else "the cloud emulator", timeout=START_TIMEOUT,
                   progress=self.progress, failed=lambda: self._died("vpc"))
        cloud = read_json(cloud_file)
        self.progress.ok(f"Tencent Cloud emulator on {cloud['endpoint']} with the VPC router namespace")
        return cloud

    def _apply_crds(self, api: KubeApi) -> None:
        from kubernetes.client import ApiException, ApiextensionsV1Api

        from eni.api.v1 import ALL_KINDS
        from eni.api.v1.crdgen import custom_resource_definition

        ext: Any = ApiextensionsV1Api(api.client)
        for kind in ALL_KINDS:
            try:
                ext.create_custom_resource_definition(custom_resource_definition(kind), _preload_content=False,
                                                      _request_timeout=api.timeout)
            except ApiException as e:
                if e.status != 409:
                    raise
        self.progress.ok(f"CRDs ({', '.join(k.RESOURCE.short_names[0] for k in ALL_KINDS)})")

    def _add_nodes(self, cluster: dict[str, Any], cloud: dict[str, Any]) -> None:
        names = SimNames(cluster["prefix"])
        plane = VpcDataPlane(names)
        zones: list[str] = []
        for subnet in cloud["subnets"]:
            if subnet["zone"] not in zones:
                zones.append(subnet["zone"])
        zones = zones[: self.cfg.zones]
        for i in range(self.cfg.nodes):
            zone = zones[i % len(zones)]
            subnet = next(s for s in cloud["subnets"] if s["zone"] == zone)
            name = f"node-{i + 1}"
            reply = _post_json(f"http://{cloud['endpoint']}/_admin/instances",
                               {"zone": zone, "instanceType": self.cfg.instance_type, "subnetId": subnet["id"],
                                "name": name})
            primary = reply["PrimaryNetworkInterface"]
            base = self.state.node_dir(name)
            node = {
                "name": name, "netns": names.node(reply["InstanceId"]), "instance_id": reply["InstanceId"],
                "zone": zone, "instance_type": self.cfg.instance_type, "primary_ip": reply["PrivateIpAddresses"][0],
                "primary_eni": primary["NetworkInterfaceId"], "mac": primary["MacAddress"], "subnet": subnet["id"],
                "cni_bin_dir": str(base / "cni" / "bin"), "cni_conf_dir": str(base / "cni" / "net.d"),
                "agent_socket": str(base / "run" / "agent.sock"), "json_socket": str(base / "run" / "agent.json.sock"),
                "agent_state_dir": str(base / "agent"), "device_plugin_dir": str(base / "device-plugins"),
                "sandbox_dir": str(base / "sandboxes"),
            }
            for key in ("cni_bin_dir", "cni_conf_dir", "agent_state_dir", "device_plugin_dir", "sandbox_dir"):
                Path(node[key]).mkdir(parents=True, exist_ok=True)
            Path(node["agent_socket"]).parent.mkdir(parents=True, exist_ok=True)
            cluster["nodes"].append(node)
            self.state.write_cluster(cluster)  # recorded before its namespace exists
            plane.add_node(instance_id=node["instance_id"], eni_id=node["primary_eni"], mac=node["mac"],
                           primary_ip=node["primary_ip"], subnet=subnet["cidr"])
        self.progress.ok(f"{self.cfg.nodes} node namespaces in {len(zones)} zone(s), each a CVM in the emulator")

    def _start_components(self, cluster: dict[str, Any], cloud: dict[str, Any]) -> str:
        # A credentials file rather than environment variables: a restarted component finds them again.
        creds = self.state.path / "credentials"
        creds.touch(mode=0o600)
        creds.write_text(f"[default]\nsecret_id = {cluster['secret_id']}\nsecret_key = {cluster['secret_key']}\n")
        cloud_args = ["--cloud-endpoint", cloud["endpoint"], "--credentials-file", str(creds)]
        kube = str(self.state.kubeconfig)
        common = ["--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--log-format", "text"]
        subnets = ",".join(s["id"] for s in cloud["subnets"])
        for i in range(self.cfg.ipamd_replicas):
            spawn(self.state, f"ipamd-{i}", [
                self.cfg.program("tke-eni-ipamd"), "--kubeconfig", kube, "--region", cloud["region"], "--vpc-id",
                cloud["vpc_id"], "--cluster-id", cluster["cluster_id"], *cloud_args,
                "--mode", self.cfg.mode, "--subnets", subnets, "--ip-min-warm-target", str(self.cfg.min_warm),
                "--ip-max-warm-target", str(self.cfg.max_warm), "--release-interval", "10s",
                "--leader-elect-identity", f"ipamd-{i}", "--leader-elect-lease-duration", "6s",
                "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "1s",
                "--kube-client-qps", f"{self.cfg.ipamd_kube_qps:g}", "--kube-client-burst",
                str(self.cfg.ipamd_kube_burst), *common,
            ])
        for node in cluster["nodes"]:
            spawn(self.state, f"agent-{node['name']}", [
                self.cfg.program("tke-eni-agent"), "--node-name", node["name"], "--netns", node["netns"],
                "--kubeconfig", kube,
                "--cni-bin-dir", node["cni_bin_dir"], "--cni-conf-dir", node["cni_conf_dir"],
                "--plugin-interpreter", f"{sys.executable} -IS", "--grpc-socket", node["agent_socket"],
                "--json-socket", node["json_socket"], "--state-dir", node["agent_state_dir"],
                "--device-plugin-dir", node["device_plugin_dir"], "--ip-cooldown", "2s", "--gc-interval", "10s",
                "--gc-grace", "10s", "--mode", self.cfg.mode, *common,
            ])
            spawn(self.state, f"kubelet-{node['name']}", [self.sim, "kubelet", "--state-dir", str(self.state.path),
                                                          "--node", node["name"]])
        extender = ""
        if self.cfg.mode == "static":
            port = free_port()
            extender = f"http://127.0.0.1:{port}"
            spawn(self.state, "ip-scheduler", [
                self.cfg.program("tke-eni-ip-scheduler"), "--listen", f"127.0.0.1:{port}", "--kubeconfig", kube,
                "--region", cloud["region"], "--cluster-id", cluster["cluster_id"], *cloud_args, *common,
            ])
        spawn(self.state, "scheduler", [self.sim, "scheduler", "--state-dir", str(self.state.path),
                                        "--extender-url", extender])
        self.progress.ok(f"started ipamd x{self.cfg.ipamd_replicas}, {len(cluster['nodes'])} agents and kubelets, "
                         + ("the ip-scheduler extender, " if extender else "") + "the scheduler")
        return extender

    def summary(self, cluster: dict[str, Any], cloud: dict[str, Any], extender: str) -> dict[str, Any]:
        keys = ("name", "netns", "instance_id", "zone", "primary_ip", "cni_bin_dir", "cni_conf_dir", "agent_socket")
        return {
            "kubeconfig": str(self.state.kubeconfig),
            "cloud": {"endpoint": cloud["endpoint"], "region": cloud["region"], "secret_id": cluster["secret_id"],
                      "secret_key": cluster["secret_key"]},
            "scheduler_extender": extender or None,
            "mode": self.cfg.mode,
            "prefix": cluster["prefix"],
            "nodes": [{k: n[k] for k in keys} for n in cluster["nodes"]],
        }

    def _wait_ready(self, api: KubeApi, cluster: dict[str, Any]) -> None:
        names = [n["name"] for n in cluster["nodes"]]

        def missing() -> str | None:
            nodes = {n["metadata"]["name"]: n for n in api.list_nodes().get("items") or []}
            not_ready = [n for n in names if n not in nodes or not node_ready(nodes[n])]
            if not_ready:
                return f"nodes Ready: {len(names) - len(not_ready)}/{len(names)}"
            # NB: in static mode the agents count every bindable IP as allocatable, bound or not.
            no_plugin = [n for n in names if int(((nodes[n].get("status") or {}).get("allocatable") or {})
                                                 .get(ENI_IP_RESOURCE, "0") or 0) <= 0]
            if no_plugin:
                return f"agents registered {ENI_IP_RESOURCE}: {len(names) - len(no_plugin)}/{len(names)}"
            if self.cfg.mode == "non-static":
                pools = warm_pools(api)
                cold = [n for n in names if pools.get(n, 0) < self.cfg.min_warm]
                if cold:
                    return f"warm pools of {self.cfg.min_warm}+ bound IPs: {len(names) - len(cold)}/{len(names)}"
                # ipamd keeps 1 free exclusive ENI by default on nodes that may attach any (capacity > 0).
                no_direct = [n for n in names if _counts(nodes[n], DIRECT_ENI_RESOURCE)[0] > 0
                             and _counts(nodes[n], DIRECT_ENI_RESOURCE)[1] < 1]
                if no_direct:
                    return f"a free exclusive ENI on each node: {len(names) - len(no_direct)}/{len(names)}"
            return None

        crashed = [f"agent-{n}" for n in names] + ["vpc", "apiserver", "scheduler"]
        wait_until(missing, timeout=self.cfg.ready_timeout, progress=self.progress,
                   failed=lambda: self._died(*crashed) or self._ipamd_gone())
        self.progress.ok("every node is Ready" + (" with its warm pool" if self.cfg.mode == "non-static" else ""))

    def _ipamd_gone(self) -> str | None:
        replicas = [p for p in self.state.processes() if p.name.startswith("ipamd-")]
        if replicas and not any(alive(p, self.state) for p in replicas):
            return "every ipamd replica exited: " + self._exited(replicas[0].name)
        return None


def _counts(node: dict[str, Any], resource: str) -> tuple[int, int]:
    """The node's (capacity, allocatable) of an extended resource; zeros when it does not list it."""
    status = node.get("status") or {}
    return (int((status.get("capacity") or {}).get(resource, "0") or 0),
            int((status.get("allocatable") or {}).get(resource, "0") or 0))


def warm_pools(api: KubeApi) -> dict[str, int]:
    """Node name -> Bound secondary IPs its NodeENIConfig status lists."""
    from kubernetes.client import CustomObjectsApi

    from eni.api.v1.constants import GROUP, VERSION

    custom: Any = CustomObjectsApi(api.client)
    reply = custom.list_cluster_custom_object(GROUP, VERSION, "nodeeniconfigs", _preload_content=False,
                                              _request_timeout=api.timeout)
    pools: dict[str, int] = {}
    for nec in json.loads(reply.data).get("items") or []:
        enis = (nec.get("status") or {}).get("enis") or []
        pools[nec["metadata"]["name"]] = sum(1 for e in enis for ip in e.get("ips") or []
                                             if ip.get("state", "Bound") == "Bound")
    return pools


def _post_json(url: str, body: object) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the loopback emulator
        reply = json.loads(response.read())
    if not isinstance(reply, dict) or "InstanceId" not in reply:
        raise UpError(f"the emulator refused to add an instance: {reply}")
    return reply
