"""``tke-eni-sim demo``: the whole story on one machine, in under two minutes, then everything torn down.

Brings up 3 nodes in 2 zones, starts a deployment-like set of pods, one static-IP pod and one exclusive-ENI
pod (``tke-direct-eni``: a whole ENI in its namespace), shows pods / IPs / ENIs / nodes, pings pod->pod across
nodes, pod->node and between the exclusive-ENI pod and a shared-ENI pod, deletes and recreates the static pod
to show it keeps its IP, prints the CNI ADD latencies the kubelets observed, runs the ledger check, and tears
down. Every
claim it shows is checked: the result is non-zero if any of them did not hold. It always tears down.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eni.sim.cluster import ClusterBuilder, UpConfig, UpError
from eni.sim.enilinks import eni_links
from eni.sim.kube import KubeApi, Obj
from eni.sim.kubelet.latency import Distribution, read_latencies
from eni.sim.ledgercheck import Views, cloud_view, run_check
from eni.sim.names import SimNames
from eni.sim.podops import PodWaitError, create_pod, delete_pod, pod_manifest, wait_gone, wait_running
from eni.sim.probe import ping_until
from eni.sim.statedir import StateDir, read_json
from eni.sim.teardown import down
from eni.sim.ui import Progress, table

STATIC_ANNOTATIONS = {"tke.cloud.tencent.com/vpc-ip-claim-delete-policy": "Never"}
DIRECT_POD = "cache-0"


@dataclass
class DemoConfig:
    replicas: int = 6
    mode: str = "static"
    direct_eni: bool = True
    """Also run one exclusive-ENI pod and ping between it and a shared-ENI pod."""
    pods_timeout: float = 60.0
    keep: bool = False
    state_dir: Path | None = None
    programs: tuple[tuple[str, str], ...] = ()


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class Demo:
    def __init__(self, cfg: DemoConfig, *, out: TextIO, progress: Progress) -> None:
        self.cfg, self.out, self.progress = cfg, out, progress
        self.outcome = Outcome()

    def _check(self, ok: bool, text: str) -> bool:
        if ok:
            self.progress.ok(text)
        else:
            self.progress.fail(text)
            self.outcome.failures.append(text)
        return ok

    def run(self) -> Outcome:
        state_dir = self.cfg.state_dir or Path(tempfile.mkdtemp(prefix="tke-eni-demo-"))
        state = StateDir(state_dir)
        started = time.monotonic()
        try:
            self.progress.step("bringing up 3 nodes in 2 zones (API server, cloud emulator, VPC router, ipamd x2, "
                               "agents, kubelets, scheduler)")
            try:
                ClusterBuilder(state, UpConfig(nodes=3, zones=2, mode=self.cfg.mode,
                                                     programs=self.cfg.programs), self.progress).up()
            except (UpError, OSError, ValueError) as e:
                self._check(False, f"cluster up: {e}")
                return self.outcome
            api = KubeApi(state.kubeconfig)
            try:
                self._story(state, api)
            finally:
                api.close()
        except KeyboardInterrupt:
            self.outcome.failures.append("interrupted")
        finally:
            if not self.cfg.keep:
                self.progress.step("tearing everything down")
                report = down(state, purge=self.outcome.ok)
                self.progress.ok(f"stopped {len(report.stopped)} processes, removed {len(report.namespaces)} "
                                 "namespaces" + ("" if self.outcome.ok else f"; logs kept in {state.logs}"))
            self.progress.step(f"done in {time.monotonic() - started:.0f}s: "
                               + ("everything shown worked" if self.outcome.ok
                                  else f"{len(self.outcome.failures)} check(s) FAILED"))
        return self.outcome

    def _story(self, state: StateDir, api: KubeApi) -> None:
        cluster = state.cluster()
        nodes = {n["name"]: n for n in cluster["nodes"]}
        endpoint = read_json(state.path / "cloud.json")["endpoint"]
        web = [f"web-{i}" for i in range(self.cfg.replicas)]
        static = self.cfg.mode == "static"
        extras = (["the static-IP pod db-0"] if static else []) \
            + ([f"the exclusive-ENI pod {DIRECT_POD}"] if self.cfg.direct_eni else [])
        self.progress.step(f"creating {len(web)} pods of a web deployment" + "".join(
            f"{', ' if i < len(extras) - 1 else ' and '}{text}" for i, text in enumerate(extras)))
        for name in web:
            create_pod(api, pod_manifest(name, labels={"app": "web"}))
        if static:
            create_pod(api, pod_manifest("db-0", labels={"app": "db"}, annotations=STATIC_ANNOTATIONS))
        if self.cfg.direct_eni:
            create_pod(api, pod_manifest(DIRECT_POD, labels={"app": "cache"}, network="tke-direct-eni"))
        names = web + (["db-0"] if static else []) + ([DIRECT_POD] if self.cfg.direct_eni else [])
        try:
            pods = wait_running(api, names, timeout=self.cfg.pods_timeout, on_wait=self.progress.waiting)
        except PodWaitError as e:
            self.progress.end_wait()
            self._check(False, str(e))
            return
        self.progress.end_wait()
        self._check(True, f"{len(pods)} pods Running")
        self._show_pods(pods, nodes, endpoint)
        shared = {name: pod for name, pod in pods.items() if name != DIRECT_POD}
        self._pings(cluster, shared, nodes)
        if self.cfg.direct_eni:
            self._direct_pod(cluster, pods[DIRECT_POD], pods[web[0]], endpoint)
        if static:
            self._static_pod(api, pods["db-0"])
        self._latency(state)
        self._ledger_check(endpoint, api, cluster)

    def _show_pods(self, pods: dict[str, Obj], nodes: dict[str, Any], endpoint: str) -> None:
        views = Views()
        cloud_view(views, _get_json(f"http://{endpoint}/_admin/state"))
        rows = []
        for name, pod in sorted(pods.items()):
            ip, node = pod["status"]["podIP"], pod["spec"]["nodeName"]
            cloud = views.cloud_ips.get(ip)
            eni = views.cloud_enis.get(cloud.eni_id) if cloud else None
            kind = "exclusive, its primary IP" if eni is not None and eni.direct else "shared"
            rows.append((name, ip, f"{cloud.eni_id} ({kind})" if cloud else "(not in the cloud!)", node,
                         nodes[node]["zone"], nodes[node]["instance_id"]))
        self.out.write("\n" + table(("POD", "IP", "ENI", "NODE", "ZONE", "INSTANCE"), rows) + "\n\n")
        self.out.flush()
        self._check(all(views.cloud_ips.get(p["status"]["podIP"]) for p in pods.values()),
                    "every pod IP is assigned to an ENI of its node in the cloud")

    def _pings(self, cluster: dict[str, Any], pods: dict[str, Obj], nodes: dict[str, Any]) -> None:
        names = SimNames(cluster["prefix"])
        by_node: dict[str, list[Obj]] = {}
        for pod in pods.values():
            by_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
        spread = [by_node[n][0] for n in sorted(by_node)]
        pairs = [(spread[i], spread[(i + 1) % len(spread)]) for i in range(len(spread))] if len(spread) > 1 else []
        if not pairs:
            self._check(False, "pods landed on one node only: no cross-node ping possible")
        for src, dst in pairs:
            rtt = ping_until(names.pod(src["metadata"]["uid"]), dst["status"]["podIP"])
            self._check(rtt is not None, f"ping {src['metadata']['name']} ({src['spec']['nodeName']}) -> "
                        f"{dst['metadata']['name']} {dst['status']['podIP']} ({dst['spec']['nodeName']})"
                        + (f": {rtt * 1000:.2f} ms" if rtt is not None else ": no reply"))
        src = spread[0]
        for node in sorted(nodes):
            target = nodes[node]["primary_ip"]
            rtt = ping_until(names.pod(src["metadata"]["uid"]), target)
            self._check(rtt is not None, f"ping {src['metadata']['name']} -> node {node} {target}"
                        + (f": {rtt * 1000:.2f} ms" if rtt is not None else ": no reply"))

    def _direct_pod(self, cluster: dict[str, Any], pod: Obj, peer: Obj, endpoint: str) -> None:
        """The exclusive-ENI pod holds its ENI as eth0 and talks to a shared-ENI pod both ways."""
        names = SimNames(cluster["prefix"])
        views = Views()
        cloud_view(views, _get_json(f"http://{endpoint}/_admin/state"))
        ip, netns = pod["status"]["podIP"], names.pod(pod["metadata"]["uid"])
        cloud = views.cloud_ips.get(ip)
        eni = views.cloud_enis.get(cloud.eni_id) if cloud else None
        links = [link for link in eni_links(netns, router=names.router) if eni is not None and link.mac == eni.mac]
        self._check(eni is not None and eni.direct and ip == eni.primary_ip and [li.ifname for li in links] == ["eth0"],
                    f"{DIRECT_POD} holds the whole ENI {eni.eni_id if eni else '?'} as its eth0, with its primary IP "
                    f"{ip}")
        for src, dst in ((pod, peer), (peer, pod)):
            rtt = ping_until(names.pod(src["metadata"]["uid"]), dst["status"]["podIP"])
            self._check(rtt is not None, f"ping {src['metadata']['name']} -> {dst['metadata']['name']} "
                        f"{dst['status']['podIP']} ({'exclusive' if dst is pod else 'shared'} ENI)"
                        + (f": {rtt * 1000:.2f} ms" if rtt is not None else ": no reply"))

    def _static_pod(self, api: KubeApi, pod: Obj) -> None:
        before = pod["status"]["podIP"]
        self.progress.step(f"deleting db-0 ({before} on {pod['spec']['nodeName']}) and creating it again")
        try:
            delete_pod(api, "db-0")
            wait_gone(api, "db-0", timeout=30)
            create_pod(api, pod_manifest("db-0", labels={"app": "db"}, annotations=STATIC_ANNOTATIONS))
            again = wait_running(api, ["db-0"], timeout=self.cfg.pods_timeout, on_wait=self.progress.waiting)["db-0"]
        except (PodWaitError, OSError) as e:
            self.progress.end_wait()
            self._check(False, f"static pod recreation: {e}")
            return
        self.progress.end_wait()
        after = again["status"]["podIP"]
        self._check(after == before, f"db-0 came back with {after} on {again['spec']['nodeName']}"
                    + (" (the same IP)" if after == before else f" instead of {before}"))

    def _latency(self, state: StateDir) -> None:
        values = read_latencies(sorted((state.path / "latency").glob("*.log")))
        dist = Distribution.of(values)
        self.out.write("\nCNI ADD latency as the kubelets saw it (pod namespace + plugin chain):\n"
                       + table(("ADDS", "P50", "P90", "P99", "MAX"),
                               [(dist.count, f"{dist.p50:.0f} ms", f"{dist.p90:.0f} ms", f"{dist.p99:.0f} ms",
                                 f"{dist.max:.0f} ms")]) + "\n\n")
        self.out.flush()
        self._check(dist.count > 0, f"{dist.count} CNI ADDs measured")

    def _ledger_check(self, endpoint: str, api: KubeApi, cluster: dict[str, Any]) -> None:
        report = run_check(endpoint=endpoint, api=api, nodes=cluster["nodes"], names=SimNames(cluster["prefix"]),
                           wait=20.0)
        self.out.write(table(("IP", "CLOUD ENI@INSTANCE", "CRD", "AGENT LEDGER", "POD"), report.rows) + "\n\n")
        if report.eni_rows:
            self.out.write(table(("EXCLUSIVE ENI", "PRIMARY IP", "NODE", "LINK IN"), report.eni_rows) + "\n\n")
        for problem in report.problems:
            self.out.write(f"  {problem.kind}: {problem.subject}: {problem.detail}\n")
        self.out.flush()
        self._check(report.ok, "ledger check: cloud, CRDs, agents and pods agree"
                    + ("" if report.ok else f" ({len(report.problems)} problems)"))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the loopback emulator
        return json.loads(response.read())
