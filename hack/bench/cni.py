#!/usr/bin/env python3
"""CNI ADD/DEL latency of tke-route-eni (through the real agent) next to Debian's ptp + host-local.

Run as root from the repository: ``.venv/bin/python hack/bench/cni.py [--pods 100] [--burst 50]``.
It builds its own throwaway namespaces (a node, a VPC peer, one namespace per pod; random names, all
removed at the end, also on failure), runs the real ``tke-eni-agent --netns <node>`` against a loopback
fake API server holding the node's NodeENIConfig (the agent installs the plugins; its resident memory is
measured with 200 pods), and execs the plugins the way a container runtime does: a fresh process per
call, CNI env vars, config on stdin (ours: the plugin config of the conflist the agent installed), from a
thread inside the node namespace.
Our DEL returns before the pod's host veth is deleted (the agent does that in the background): the bench waits
for each such deletion, untimed, before it measures anything else, so that it never loads the reference's turn.
Prints p50/p90/p99 in milliseconds and the ratio ours/reference. ``--agent-profile FILE`` also writes a CPU profile
of every agent thread (``ENI_AGENT_CPU_PROFILE``; read it with ``python -m pstats FILE``; latencies are then not
comparable).
Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cnirig import (
    REF_SUBNET,
    REFERENCE,
    Namespaces,
    Runtime,
    build_vpc,
    children_cpu_seconds,
    cpu_seconds,
    installed_conf,
    nec_status,
    rss_mib,
    running_agent,
    served_seconds,
)


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
                           f"{tmp / 'bin'}:{REFERENCE}", background_deletes=True)
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
    # NB: round-robin, like everything else here: in blocks, load drift would show as a difference.
    starts: dict[str, list[float]] = {"bare": [], "floor": [], "ours": [], "ref": []}
    commands = {"bare": [args.python, "-IS", "-c", "pass"],
                "floor": [args.python, "-IS", "-c", "import posix; posix._exit(0)"],
                "ours": [ours.exe], "ref": [ref.exe]}
    for _ in range(30):
        for name, argv in commands.items():
            starts[name].append(startup_ms_of(argv))
    bare, floor, start_ours, start_ref = starts["bare"], starts["floor"], starts["ours"], starts["ref"]
    # Warm both paths once (page cache, the agent's first netlink calls), then interleave the measurements.
    for runtime, prefix in ((ours, "bwo"), (ref, "bwr")):
        runtime.sequential(make(prefix, 3))
    # NB: the machine is shared, so load drifts: sequential pods alternate ours/reference one by one, and the
    # burst runs in rounds that alternate too, so that both sides see the same conditions. Who goes first swaps
    # every time: whatever one side leaves running in the background lands on both alike.
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
        for turn, (mine, theirs) in enumerate(pairs):
            sides = (("ours", ours, mine, seq_ours), ("ref", ref, theirs, seq_ref))
            for side, runtime, pod, into in sides[::-1] if turn % 2 else sides:
                spent = children_cpu_seconds()
                into[index].append(runtime.call(command, pod))
                children[side] += children_cpu_seconds() - spent
                runtime.settle()
        agent_cpu = cpu_seconds(agent_pid) - agent_cpu  # NB: before the /metrics scrape, which costs the agent too
        after = served_seconds(agent_port).get(method, (0.0, 0))
        agent_ms[command] = 1000 * (after[0] - before[0]) / max(1, after[1] - before[1])
        cpu_ms[f"{command} ours"] = 1000 * (children["ours"] + agent_cpu) / len(pairs)
        cpu_ms[f"{command} plugin"] = 1000 * children["ours"] / len(pairs)
        cpu_ms[f"{command} ref"] = 1000 * children["ref"] / len(pairs)
    burst_ours: tuple[list[float], list[float]] = ([], [])
    burst_ref: tuple[list[float], list[float]] = ([], [])
    for turn in range(args.burst_rounds):
        bursts = ((ours, "bbo", burst_ours), (ref, "bbr", burst_ref))
        for runtime, prefix, into in bursts[::-1] if turn % 2 else bursts:
            adds, wall = runtime.burst(make(prefix, args.burst))
            into[0].extend(adds)
            into[1].append(wall)
    return Results(seq_ours, seq_ref, burst_ours, burst_ref, start_ours, start_ref, bare, floor, agent_ms, cpu_ms)


def startup_ms_of(argv: list[str]) -> float:
    """Wall time of ``argv`` with CNI_COMMAND=VERSION: for a plugin, the cost of starting it at all."""
    start = time.perf_counter()
    subprocess.run(argv, input=b'{"cniVersion":"1.0.0"}', env={"CNI_COMMAND": "VERSION"},
                   capture_output=True, timeout=30, check=True)
    return (time.perf_counter() - start) * 1000


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
