#!/usr/bin/env python3
"""Benchmark of the simulated VPC data plane: what each emulator hook costs, and a pod namespace.

Run as root from the repository root:  .venv/bin/python hack/bench/sim_dataplane.py [--enis 20]

Inside throwaway namespaces only (one cluster prefix; all deleted at the end, also on failure) it builds the
router and one node, then for N ENIs times the hooks the emulator calls: on_attach (veth with the ENI's MAC
in the node, far end in the router, its primary IP routed), on_assign of 9 IPs (a /32 route and a permanent
neighbour each), on_unassign of them, on_detach; and the kubelet stand-in's pod namespace create + delete.
Prints p50/p90 per operation in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from eni.cloud.emulator import EniView
from eni.sim.dataplane import VpcDataPlane
from eni.sim.iproute import add_netns, delete_netns, list_netns
from eni.sim.names import SimNames, new_prefix

SUBNET = "10.0.1.0/24"


def timed(samples: dict[str, list[float]], name: str, fn: Callable[[], None]) -> None:
    started = time.perf_counter()
    fn()
    samples.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enis", type=int, default=20)
    args = parser.parse_args()
    names = SimNames(new_prefix())
    plane = VpcDataPlane(names)
    samples: dict[str, list[float]] = {}
    try:
        plane.create_router([SUBNET])
        node = plane.add_node(instance_id="ins-bench001", eni_id="eni-benchprm", mac="20:90:6f:ff:00:01",
                              primary_ip="10.0.1.2", subnet=SUBNET)
        for i in range(args.enis):
            base = 10 + i * 10
            eni = EniView(eni_id=f"eni-bench{i:03d}", mac=f"20:90:6f:ff:01:{i:02x}", vpc_id="vpc-bench001",
                          subnet_id="subnet-bench001", subnet_cidr=SUBNET, zone="z", primary=False,
                          primary_ip=f"10.0.1.{base}", ips=(f"10.0.1.{base}",), instance_id=node.instance_id)
            ips = tuple(f"10.0.1.{base + k}" for k in range(1, 10))
            timed(samples, "on_attach", lambda e=eni: plane.on_attach(e, node.instance_id))
            timed(samples, "on_assign 9 IPs", lambda e=eni, a=ips: plane.on_assign(e.eni_id, a))
            timed(samples, "on_unassign 9 IPs", lambda e=eni, a=ips: plane.on_unassign(e.eni_id, a))
            timed(samples, "on_detach", lambda e=eni: plane.on_detach(e, node.instance_id))
            pod = names.pod(f"bench-{i}")
            timed(samples, "pod netns add", lambda p=pod: add_netns(p))
            timed(samples, "pod netns delete", lambda p=pod: delete_netns(p))
    finally:
        for ns in list_netns():
            if names.owns(ns):
                delete_netns(ns)
    print(f"{'operation':<20} {'p50 ms':>8} {'p90 ms':>8}   (n={args.enis})")
    for name, values in samples.items():
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(f"{name:<20} {statistics.median(ordered):>8.1f} {p90:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
