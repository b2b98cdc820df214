"""End-to-end fixtures: a whole local cluster brought up with the real ``tke-eni-sim up`` and always torn
down with ``tke-eni-sim down``, which must leave no namespace behind — also when a test failed.

One cluster per test module (``sim_cluster(mode)``) keeps the suite within a few minutes on 2 cores.
Tests need root (namespaces); they are marked ``netns`` automatically. ``TKE_ENI_SIM_PROGRAMS``
(``NAME=PATH,...``) is passed to ``up --program`` to try a locally built program.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eni.sim.iproute import list_netns
from eni.sim.kube import KubeApi
from eni.sim.names import SimNames
from eni.sim.podops import create_pod, delete_pod, pod_manifest, pods_by_name, wait_gone, wait_running
from eni.sim.probe import ping_until
from eni.sim.procs import reap_children
from eni.sim.statedir import StateDir, read_json

_HERE = Path(__file__).parent
SIM = str(Path(sys.executable).parent / "tke-eni-sim")


def pytest_configure(config: pytest.Config) -> None:
    # Registered by pytest-xdist when it is active; declared here too so `-p no:xdist` runs accept it.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.netns)


@pytest.fixture(autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the local cluster needs root (network namespaces)")


@dataclass
class SimCluster:
    state: StateDir
    summary: dict[str, Any]
    api: KubeApi

    @property
    def names(self) -> SimNames:
        return SimNames(self.summary["prefix"])

    @property
    def nodes(self) -> list[dict[str, Any]]:
        return list(self.summary["nodes"])

    def sim(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``tke-eni-sim <args[0]> --state-dir DIR <args[1:]>``."""
        return subprocess.run([SIM, args[0], "--state-dir", str(self.state.path), *args[1:]],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def check(self) -> subprocess.CompletedProcess[str]:
        return self.sim("check", "--wait", "30")

    def create(self, name: str, **kwargs: Any) -> None:
        create_pod(self.api, pod_manifest(name, **kwargs))

    def delete(self, name: str) -> None:
        delete_pod(self.api, name)

    def running(self, names: list[str], *, timeout: float = 60) -> dict[str, dict[str, Any]]:
        return wait_running(self.api, names, timeout=timeout)

    def gone(self, names: list[str], *, timeout: float = 30) -> None:
        for name in names:
            wait_gone(self.api, name, timeout=timeout)

    def pods(self, label_selector: str = "") -> dict[str, dict[str, Any]]:
        return pods_by_name(self.api, label_selector=label_selector)

    def ping(self, pod: dict[str, Any], target: str, *, attempts: int = 5) -> bool:
        return ping_until(self.names.pod(pod["metadata"]["uid"]), target, attempts=attempts) is not None

    def faults(self, body: dict[str, Any] | None) -> None:
        endpoint = self.summary["cloud"]["endpoint"]
        method = "PUT" if body is not None else "DELETE"
        request = urllib.request.Request(f"http://{endpoint}/_admin/faults", method=method,
                                         data=json.dumps(body or {}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback emulator
            pass


def bring_up(*, mode: str, nodes: int) -> SimCluster:
    """``tke-eni-sim up``; on failure the test fails with the logs (the caller still runs ``tear_down``)."""
    state = StateDir(Path(tempfile.mkdtemp(prefix="tke-eni-e2e-")))
    _BROUGHT_UP.append(state)
    programs = [f"--program={p}" for p in os.environ.get("TKE_ENI_SIM_PROGRAMS", "").split(",") if p]
    result = subprocess.run([SIM, "up", "--state-dir", str(state.path), "--nodes", str(nodes), "--zones", "2",
                             "--mode", mode, "--ready-timeout", "90", *programs],
                            capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(state.logs.glob("*.log")))
        pytest.fail(f"tke-eni-sim up failed ({result.returncode}):\n{result.stderr[-3000:]}\n{logs}")
    return SimCluster(state, read_json(state.path / "state.json"), KubeApi(state.kubeconfig))


# Every state dir `bring_up` created, so `tear_down` also finds one whose `up` failed half-way.
_BROUGHT_UP: list[StateDir] = []


def tear_down(state: StateDir, api: KubeApi | None) -> None:
    """``tke-eni-sim down``, then assert it left no namespace of the cluster behind."""
    if api is not None:
        api.close()
    prefix = str(state.cluster().get("prefix") or "")
    subprocess.run([SIM, "down", "--state-dir", str(state.path)], capture_output=True, timeout=120, check=False)
    reap_children()  # components restarted by a test are children of this process
    left = [ns for ns in list_netns() if prefix and ns.startswith(prefix + "-")]
    shutil.rmtree(state.path, ignore_errors=True)
    assert left == [], f"down left namespaces behind: {left}"


@pytest.fixture(scope="module")
def sim_cluster() -> Iterator[Callable[..., SimCluster]]:
    """``sim_cluster(mode="non-static", nodes=3)``: a running cluster for the module, torn down after it."""
    made: list[SimCluster] = []
    first = len(_BROUGHT_UP)

    def make(*, mode: str = "non-static", nodes: int = 3) -> SimCluster:
        made.append(bring_up(mode=mode, nodes=nodes))
        return made[-1]

    try:
        yield make
    finally:
        apis = {id(c.state): c.api for c in made}
        for state in _BROUGHT_UP[first:]:
            tear_down(state, apis.get(id(state)))
        del _BROUGHT_UP[first:]


@pytest.fixture(scope="module", params=["non-static", "static"])
def cluster_of_each_mode(request: pytest.FixtureRequest) -> Iterator[SimCluster]:
    """A 3-node cluster per mode; pytest groups the tests by mode, so one cluster runs at a time."""
    first = len(_BROUGHT_UP)
    made: SimCluster | None = None
    try:
        made = bring_up(mode=str(request.param), nodes=3)
        yield made
    finally:
        for state in _BROUGHT_UP[first:]:
            tear_down(state, made.api if made is not None and made.state is state else None)
        del _BROUGHT_UP[first:]
