"""``tke-eni-sim demo`` as a user runs it: the whole story in under two minutes with exit 0, and a non-zero exit
with the failure named (and nothing left behind) when a part of the cluster does not work."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from eni.sim.iproute import list_netns

SIM = str(Path(sys.executable).parent / "tke-eni-sim")

pytestmark = pytest.mark.xdist_group("e2e-demo")

DEMO_BOUND = 120.0


def _demo(state_dir: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run([SIM, "demo", "--state-dir", str(state_dir), *args], capture_output=True, text=True,
                            timeout=DEMO_BOUND + 60, check=False)
    return result, time.monotonic() - started


def _left_behind(output: str) -> list[str]:
    """Namespaces still present that carry the prefix the demo announced."""
    found = re.search(r"namespaces prefixed (\S+?)\)", output)
    assert found, f"the demo did not say which namespaces it creates:\n{output}"
    return [ns for ns in list_netns() if ns.startswith(found.group(1) + "-")]


@pytest.fixture
def state_dir():
    path = Path(tempfile.mkdtemp(prefix="tke-eni-demo-test-"))
    yield path / "cluster"
    subprocess.run([SIM, "down", "--state-dir", str(path / "cluster")], capture_output=True, timeout=120,
                   check=False)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(DEMO_BOUND + 90)
def test_the_demo_shows_everything_in_under_two_minutes_and_exits_0(state_dir):
    result, took = _demo(state_dir)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    for shown in ("pods Running", "INSTANCE", "ping web-", "-> node node-", "(the same IP)", "CNI ADD latency",
                  "(exclusive, its primary IP)", "cache-0 holds the whole ENI", "(exclusive ENI)",
                  "ledger check: cloud, CRDs, agents and pods agree", "everything shown worked"):
        assert shown in out, f"{shown!r} missing from the demo's output:\n{out[-4000:]}"
    assert took < DEMO_BOUND, f"the demo took {took:.0f}s"
    assert _left_behind(out) == []


@pytest.mark.timeout(120)
def test_a_part_that_does_not_work_makes_the_demo_exit_non_zero_and_still_tear_down(state_dir):
    result, _ = _demo(state_dir, "--program", "tke-eni-agent=/bin/false")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-4000:]
    assert "FAILED: cluster up:" in result.stderr and "agent-node-" in result.stderr, out[-4000:]
    assert _left_behind(out) == []
