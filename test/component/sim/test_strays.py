"""`down` finds processes that name the state dir but were never recorded (an `up` killed mid-spawn)."""

from __future__ import annotations

import subprocess
import sys
import time

from eni.sim.procs import stop_processes, stray_processes
from eni.sim.statedir import StateDir


def _sleeper(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_an_unrecorded_process_naming_the_state_dir_is_found_and_stopped(tmp_path):
    state = StateDir(tmp_path / "cluster")
    state.path.mkdir()
    ours = _sleeper("--state-dir", str(state.path))
    below = _sleeper(f"--log={state.path}/logs/x.log")
    sibling = _sleeper("--state-dir", f"{state.path}2")
    try:
        deadline = time.monotonic() + 10  # a just-started child shows an empty cmdline until its exec is done
        while not {ours.pid, below.pid} <= (found := {r.pid for r in stray_processes(state)}):
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
        assert sibling.pid not in found
        assert ours.pid not in {r.pid for r in stray_processes(state, known=[ours.pid])}
        stop_processes(stray_processes(state), state, timeout=5)
        assert ours.wait(timeout=10) is not None and below.wait(timeout=10) is not None
        assert stray_processes(state) == []
        assert sibling.poll() is None
    finally:
        for proc in (ours, below, sibling):
            proc.kill()
            proc.wait(timeout=10)
