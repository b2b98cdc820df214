#!/usr/bin/env python3
"""Benchmark of the pod path: `PyrouteNetwork.setup_pod` / `teardown_pod` against `ip` doing the same work.

Run as root from the repository root:  .venv/bin/python hack/bench/netlink.py [--pods 100]

Builds, inside throwaway namespaces only (a node, a VPC peer, one pod namespace per pod; all deleted at the
end, also on failure), a node with one ENI, then for N pods measures in the same run:
  - ours:      setup_pod and teardown_pod (in-process netlink, veth peer created in the pod namespace);
  - ip:        the same requests as one `ip` process per command (what a shell-based plugin does);
  - ip-batch:  the same requests as two `ip -batch` processes (one in the node, one in the pod namespace).
  - ours, N at once: N set-ups started together from N threads, then N teardowns (per-call latency).
Pod namespace creation is not timed. Prints p50/p90 per variant and ours/ip ratios.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Network

from eni.netlink.pyroute import PyrouteNetwork
from eni.netlink.types import EniSpec, PodNetSpec

SUBNET = IPv4Network("10.77.0.0/16")
ENI_MAC = "02:00:0a:4d:00:05"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@contextmanager
def namespaces(prefix: str) -> Iterator[Callable[[str], str]]:
    """Yields `make(kind) -> name`; every namespace made is deleted on exit."""
    made: list[str] = []

    def make(kind: str) -> str:
        name = f"{prefix}-{kind}-{secrets.token_hex(3)}"
        sh("ip", "netns", "add", name)
        made.append(name)
        return name

    try:
        yield make
    finally:
        for name in reversed(made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)


def ip_commands(node: str, pod: str, host: str, ip: IPv4Address, table: int) -> tuple[list[str], list[str]]:
    """The `ip` equivalent of setup_pod: node-side and pod-side command lines (for `ip -batch`)."""
    node_side = [
        f"link add {host} type veth peer name eth0 netns {pod}",
        f"link set {host} up",
        f"route replace {ip}/32 dev {host} scope link proto 177",
        f"rule add to {ip} lookup main priority 512 protocol 177",
        f"rule add from {ip} lookup {table} priority 1536 protocol 177",
    ]
    pod_side = [
        "link set eth0 up",
        f"addr add {ip}/32 dev eth0",
        "route replace 169.254.1.1 dev eth0 scope link",
        "route replace default via 169.254.1.1 dev eth0 onlink",
        "neigh replace 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent",
    ]
    return node_side, pod_side


def ip_teardown(host: str, ip: IPv4Address) -> list[str]:
    return [f"rule del from {ip} priority 1536", f"rule del to {ip} priority 512", f"link del {host}"]


def run_ip_each(node: str, pod: str, lines: list[str], pod_lines: list[str]) -> None:
    for line in lines:
        sh("ip", "-n", node, *line.split())
    for line in pod_lines:
        sh("ip", "-n", pod, *line.split())


def run_ip_batch(node: str, pod: str, lines: list[str], pod_lines: list[str]) -> None:
    for ns, batch in ((node, lines), (pod, pod_lines)):
        if batch:
            subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(batch) + "\n", text=True,
                           check=True, capture_output=True, timeout=30)


def timed(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    """Milliseconds taken by `fn(*args, **kwargs)`."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def burst(network: PyrouteNetwork, make: Callable[[str], str], addresses: list[IPv4Address], table: int,
          ) -> dict[str, list[float]]:
    """All pods set up at once from one thread each, then all torn down at once (the agent's burst case)."""
    specs = [PodNetSpec(netns_path=f"/run/netns/{make('burst')}", container_ifname="eth0", host_ifname=f"vc{i}",
                        ip=ip, eni_table=table) for i, ip in enumerate(addresses)]
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        start = time.perf_counter()
        setup = list(pool.map(lambda spec: timed(network.setup_pod, spec), specs))
        middle = time.perf_counter()
        teardown = list(pool.map(lambda spec: timed(network.teardown_pod, host_ifname=spec.host_ifname, ip=spec.ip,
                                                    netns_path=spec.netns_path), specs))
        end = time.perf_counter()
    return {"setup": setup, "teardown": teardown, "wall": [(middle - start) * 1000, (end - middle) * 1000]}


def bench(pods: int, burst_size: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    with namespaces("bench") as make:
        node, peer = make("node"), make("vpc")
        sh("ip", "link", "add", "name", "eni0", "netns", node, "address", ENI_MAC,
           "type", "veth", "peer", "name", "vpc0", "netns", peer)
        with PyrouteNetwork(node) as network:
            [eni] = network.sync_enis([EniSpec(ENI_MAC, IPv4Address("10.77.0.2"), SUBNET, IPv4Address("10.77.0.1"))])
            network.enforce_sysctls(["eni0"])
            addresses = list(SUBNET.hosts())[10:10 + pods]

            ours: dict[str, list[float]] = {"setup": [], "teardown": []}
            for i, ip in enumerate(addresses):
                pod = make("pod")
                spec = PodNetSpec(netns_path=f"/run/netns/{pod}", container_ifname="eth0",
                                  host_ifname=f"vb{i}", ip=ip, eni_table=eni.table)
                ours["setup"].append(timed(network.setup_pod, spec))
                ours["teardown"].append(timed(network.teardown_pod, host_ifname=spec.host_ifname, ip=ip,
                                              netns_path=spec.netns_path))
            results["ours (pyroute2)"] = ours
            if burst_size:
                results[f"ours, {burst_size} at once"] = burst(network, make, addresses[:burst_size], eni.table)

        for label, runner in (("ip (exec per command)", run_ip_each), ("ip -batch (2 execs)", run_ip_batch)):
            series: dict[str, list[float]] = {"setup": [], "teardown": []}
            for i, ip in enumerate(addresses):
                pod = make("pod")
                host = f"vi{i}"
                node_lines, pod_lines = ip_commands(node, pod, host, ip, eni.table)
                series["setup"].append(timed(runner, node, pod, node_lines, pod_lines))
                series["teardown"].append(timed(runner, node, pod, ip_teardown(host, ip), []))
            results[label] = series
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--pods", type=int, default=100, help="pods per variant (default 100)")
    parser.add_argument("--burst", type=int, default=50, help="concurrent set-ups in the burst run (0: skip)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    results = bench(args.pods, min(args.burst, args.pods))
    print(f"pod path latency over {args.pods} pods, ms (p50 / p90 / mean)")
    print(f"{'variant':<24}{'setup p50':>10}{'p90':>8}{'mean':>8}{'teardown p50':>14}{'p90':>8}{'mean':>8}")
    for label, series in results.items():
        s, t = series["setup"], series["teardown"]
        print(f"{label:<24}{percentile(s, .5):>10.2f}{percentile(s, .9):>8.2f}{statistics.fmean(s):>8.2f}"
              f"{percentile(t, .5):>14.2f}{percentile(t, .9):>8.2f}{statistics.fmean(t):>8.2f}")
    for label, series in results.items():
        if "wall" in series:
            print(f"{label}: all set up in {series['wall'][0]:.0f} ms, all torn down in {series['wall'][1]:.0f} ms")
    ours = results["ours (pyroute2)"]
    for label in ("ip (exec per command)", "ip -batch (2 execs)"):
        ref = results[label]
        print(f"ratio ours/{label}: setup p50 {percentile(ours['setup'], .5) / percentile(ref['setup'], .5):.2f}, "
              f"teardown p50 {percentile(ours['teardown'], .5) / percentile(ref['teardown'], .5):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
