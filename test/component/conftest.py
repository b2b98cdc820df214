"""Shared component-test fixtures: a running fake API server, its kubeconfig, and real kubectl.

``apiserver`` is a started ``FakeApiServer`` (stopped after the test), ``kubeconfig`` the path of a
kubeconfig pointing at it, and ``kubectl(*args)`` runs ``/usr/bin/kubectl`` against it with a
private HOME (so discovery caches never leak between tests) and returns the CompletedProcess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eni.runtime.testing.apiserver import FakeApiServer

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def apiserver() -> Iterator[FakeApiServer]:
    server = FakeApiServer(bookmark_interval=0.5)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubeconfig(apiserver: FakeApiServer, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    apiserver.write_kubeconfig(str(path))
    return path


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    """``kubectl("get", "pods", check=True, input=None, timeout=60)`` against the fake server."""
    if not os.access(KUBECTL, os.X_OK):
        pytest.fail(f"kubectl is required for these tests and was not found at {KUBECTL} (make debs installs it)")
    home = tmp_path / "kubectl-home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}

    def run(
        *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, *args], env=env, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    return run
