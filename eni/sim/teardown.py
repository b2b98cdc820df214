"""``down``: stops every process of a local cluster and removes every namespace and file it created.

Idempotent and crash-proof: it works from the records in the state dir alone (``pids.json``, the prefix in
``cluster.json``), kills only processes whose command line still names the state dir, and deletes only
namespaces that carry the cluster's prefix (pods, nodes, router). Deleting the router and node namespaces
deletes every veth with them, so no link can outlive ``down``. Logs are kept unless ``purge``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from eni.sim.iproute import delete_netns, list_netns
from eni.sim.names import SimNames
from eni.sim.procs import stop_processes, stray_processes
from eni.sim.statedir import StateDir

STATE_FILES = ("cluster.json", "pids.json", "state.json", "cloud.json", "kubeconfig", "apiserver.json",
               "credentials")
STATE_DIRS = ("nodes", "latency")


@dataclass
class DownReport:
    stopped: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def down(state: StateDir, *, purge: bool = False) -> DownReport:
    report = DownReport()
    if not state.path.exists():
        return report
    processes = state.processes()
    # kubelets and agents first (they may still be running CNI DEL), then the control plane.
    order = sorted(processes, key=lambda p: (not p.name.startswith(("kubelet-", "scheduler")),
                                            p.name in ("apiserver", "vpc")))
    report.stopped = stop_processes(order, state)
    # An `up` killed between starting a child and recording it leaves an unlisted process: stop those too.
    report.stopped += stop_processes(stray_processes(state, known=[p.pid for p in processes]), state)
    prefix = str(state.cluster().get("prefix") or "")
    if prefix:
        names = SimNames(prefix)
        mine = [ns for ns in list_netns() if names.owns(ns)]
        # Pods first, then nodes, the router last.
        for netns in sorted(mine, key=lambda n: (n == names.router, "-pod-" not in n, n)):
            if delete_netns(netns):
                report.namespaces.append(netns)
    for name in STATE_DIRS:
        path = state.path / name
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            report.removed.append(str(path))
    for name in STATE_FILES:
        path = state.path / name
        if path.exists():
            path.unlink(missing_ok=True)
            report.removed.append(str(path))
    if purge:
        shutil.rmtree(state.path, ignore_errors=True)
        report.removed.append(str(state.path))
    return report
