#!/usr/bin/env python3
"""Benchmark of the whole local cluster: how fast pods become Running with a VPC IP, end to end.

Run as root from the repository root:
  .venv/bin/python hack/bench/sim_pods.py [--pods 30] [--nodes 3] [--mode non-static|static]
                                          [--network tke-route-eni|tke-direct-eni]

Brings a cluster up in a temporary state dir (timed), creates N pods at once and records, per pod, the time
from its creation until the API server shows it Running with an IP (scheduler stand-in, kubelet stand-in, CNI
chain, agent, ipamd growing the pools or attaching ENIs as needed); then deletes them all (timed until gone)
and tears the cluster down, also on failure. Prints the up time, time-to-Running p50/p90/max, the CNI ADD
latencies the kubelets measured, and the teardown time. With ``--network tke-direct-eni`` every pod asks for
an exclusive ENI; a node of the default S5.LARGE8 type holds at most 4, so keep ``--pods`` at most 4 per node.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eni.sim.cluster import ClusterBuilder, UpConfig
from eni.sim.kube import KubeApi
from eni.sim.kubelet.latency import Distribution, read_latencies
from eni.sim.podops import create_pod, delete_pod, pod_manifest, pods_by_name
from eni.sim.statedir import StateDir
from eni.sim.teardown import down
from eni.sim.ui import Progress


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--mode", choices=("non-static", "static"), default="non-static")
    parser.add_argument("--network", choices=("tke-route-eni", "tke-direct-eni"), default="tke-route-eni")
    args = parser.parse_args()
    state = StateDir(Path(tempfile.mkdtemp(prefix="tke-eni-bench-")))
    try:
        started = time.monotonic()
        ClusterBuilder(state, UpConfig(nodes=args.nodes, zones=2, mode=args.mode), Progress(quiet=True)).up()
        up_seconds = time.monotonic() - started
        api = KubeApi(state.kubeconfig)
        try:
            names = [f"bench-{i}" for i in range(args.pods)]
            created: dict[str, float] = {}
            for name in names:
                create_pod(api, pod_manifest(name, labels={"app": "bench"}, network=args.network))
                created[name] = time.monotonic()
            running: dict[str, float] = {}
            deadline = time.monotonic() + 300
            while len(running) < len(names) and time.monotonic() < deadline:
                now = time.monotonic()
                for name, pod in pods_by_name(api, label_selector="app=bench").items():
                    status = pod.get("status") or {}
                    if name not in running and status.get("phase") == "Running" and status.get("podIP"):
                        running[name] = now - created[name]
                time.sleep(0.05)
            if len(running) < len(names):
                print(f"only {len(running)}/{len(names)} pods became Running within 300 s")
                return 1
            started = time.monotonic()
            for name in names:
                delete_pod(api, name)
            while pods_by_name(api, label_selector="app=bench") and time.monotonic() - started < 120:
                time.sleep(0.1)
            delete_seconds = time.monotonic() - started
        finally:
            api.close()
        ready = Distribution.of([1000 * s for s in running.values()])
        adds = Distribution.of(read_latencies(sorted((state.path / "latency").glob("*.log"))))
    finally:
        started = time.monotonic()
        down(state, purge=True)
        down_seconds = time.monotonic() - started
    print(f"cluster up ({args.nodes} nodes, {args.mode}, warm pools bound): {up_seconds:.1f} s")
    print(f"{args.pods} {args.network} pods created at once -> Running with an IP: p50 {ready.p50:.0f} ms, "
          f"p90 {ready.p90:.0f} ms, max {ready.max:.0f} ms")
    print(f"CNI ADD seen by the kubelets (netns + chain): p50 {adds.p50:.0f} ms, p90 {adds.p90:.0f} ms, "
          f"max {adds.max:.0f} ms (n={adds.count})")
    print(f"all {args.pods} pods deleted and gone: {delete_seconds:.1f} s; teardown: {down_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
