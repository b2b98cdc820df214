#!/usr/bin/env python3
"""Resident memory of the real tke-eni-agent: once ready, and with N pods set up through its plugin.

Run as root from the repository: ``.venv/bin/python hack/bench/agent_memory.py [--pods 200]``. It reuses the
CNI benchmark's throwaway world (hack/bench/cni.py: a node namespace with a veth "ENI", a VPC peer, one namespace
per pod, random names, all removed at the end, also on failure) and a loopback fake API server; the agent runs
exactly as the CNI benchmark starts it. Extra agent flags can be appended after ``--``. Prints VmRSS when ready,
VmRSS with the pods, and the peak (VmHWM), in MiB, and how long the agent took to become ready (which
includes the fake API server's set-up, the same for every run). ``ENI_KUBE_CLIENT=official`` in the
environment measures the agent over the official client instead. Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cni as world  # noqa: E402  (the sibling benchmark script)


def status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter in the plugins' shebang")
    parser.add_argument("agent_flags", nargs="*", help="extra tke-eni-agent flags (after --)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    ns = world.Namespaces()
    tmp = Path(tempfile.mkdtemp(prefix="agentmem", dir="/tmp"))
    try:
        node, _peer = world.build_vpc(ns)
        started = time.monotonic()
        with world.running_agent(node, tmp, world.nec_status(args.pods + 10), python=args.python,
                                 extra_flags=args.agent_flags) as (pid, _port):
            ready_after = time.monotonic() - started
            ready = status_mib(pid, "VmRSS")
            ours = world.Runtime(node, ns, str(tmp / "bin" / "tke-route-eni"),
                                 {"cniVersion": "1.0.0", "name": "tke-eni", "type": "tke-route-eni",
                                  "agentSocket": str(tmp / "agent.json.sock")}, str(tmp / "bin"))
            pods = [ns.add("bmem") for _ in range(args.pods)]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda p: ours.call("ADD", p), pods))
                loaded = status_mib(pid, "VmRSS")
                peak = status_mib(pid, "VmHWM")
                list(pool.map(lambda p: ours.call("DEL", p), pods))
        print(f"agent RSS ready: {ready:.1f} MiB; with {args.pods} pods: {loaded:.1f} MiB; peak {peak:.1f} MiB; "
              f"ready {ready_after:.2f} s after the fake API server's set-up began")
        return 0
    finally:
        ns.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
