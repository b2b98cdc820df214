"""``down`` removes what a crashed cluster left (processes, namespaces, files), is idempotent, and touches
nothing that is not recorded as its own."""

from __future__ import annotations

import subprocess
import sys

from eni.sim.dataplane import VpcDataPlane
from eni.sim.iproute import add_netns, delete_netns, list_netns, netns_exists
from eni.sim.names import SimNames, new_prefix
from eni.sim.procs import spawn
from eni.sim.statedir import ProcessRecord, StateDir
from eni.sim.teardown import down


def test_down_cleans_up_after_a_crash_and_twice_is_harmless(tmp_path):
    state = StateDir(tmp_path / "cluster")
    names = SimNames(new_prefix())
    state.write_cluster({"prefix": names.prefix, "nodes": []})
    plane = VpcDataPlane(names)
    foreign = f"{new_prefix()}-vpc"  # another cluster's namespace: must survive
    try:
        plane.create_router(["10.0.1.0/24"])
        plane.add_node(instance_id="ins-abcdef12", eni_id="eni-abcdef12", mac="20:90:6f:00:00:01",
                       primary_ip="10.0.1.5", subnet="10.0.1.0/24")
        add_netns(names.pod("0b1c-uid"))
        add_netns(foreign)
        pid = spawn(state, "kubelet-node-1", [sys.executable, "-c", "import time; time.sleep(60)", str(state.path)])
        (state.path / "kubeconfig").write_text("{}")

        report = down(state)

        assert sorted(report.namespaces) == sorted([names.router, names.node("ins-abcdef12"), names.pod("0b1c-uid")])
        assert report.stopped == ["kubelet-node-1"]
        assert not any(names.owns(ns) for ns in list_netns())
        assert netns_exists(foreign)
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
        assert not (state.path / "kubeconfig").exists() and not (state.path / "cluster.json").exists()
        assert (state.path / "logs" / "kubelet-node-1.log").exists()

        again = down(state)
        assert again.stopped == [] and again.namespaces == []
        down(state, purge=True)
        assert not state.path.exists()
    finally:
        for ns in list_netns():
            if names.owns(ns) or ns == foreign:
                delete_netns(ns)


def test_down_never_signals_a_recorded_pid_that_is_no_longer_ours(tmp_path):
    state = StateDir(tmp_path / "cluster")
    state.path.mkdir()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state.record_process(ProcessRecord("agent-node-1", bystander.pid, ("tke-eni-agent", str(state.path))))
        report = down(state)
        assert report.stopped == []
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait(5)
