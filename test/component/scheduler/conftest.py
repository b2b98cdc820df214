"""Fixtures of the extender's component tests: the real tke-eni-ip-scheduler program as a subprocess against
the fake API server (``apiserver``/``kubeconfig`` come from test/component/conftest.py), the project's CRDs
installed and objects written through the official kubernetes client, and HTTP helpers.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes.client as k8s
import pytest

from eni.api.v1 import ALL_KINDS
from eni.api.v1.constants import GROUP, VERSION
from eni.api.v1.crdgen import custom_resource_definition


def eventually(predicate: Callable[[], Any], timeout: float = 20.0, message: str = "condition not reached") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{message} (last: {last!r})")


class Kube:
    """The official client against the fake API server, with the project's CRDs installed."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.custom = k8s.CustomObjectsApi(api_client)
        extensions = k8s.ApiextensionsV1Api(api_client)
        for kind in ALL_KINDS:
            extensions.create_custom_resource_definition(custom_resource_definition(kind))

    def create(self, obj: dict[str, Any]) -> None:
        """Create a Node or one of our kinds; a custom object's status is then written through /status."""
        if obj["kind"] == "Node":
            self.core.create_node(obj)
            return
        plural, namespace = obj["kind"].lower() + "s", obj["metadata"].get("namespace")
        body = {key: value for key, value in obj.items() if key != "status"}
        if namespace:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
        else:
            self.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        if obj.get("status"):
            self.patch_status(obj)

    def patch_status(self, obj: dict[str, Any]) -> None:
        plural, name, namespace = obj["kind"].lower() + "s", obj["metadata"]["name"], obj["metadata"].get("namespace")
        patch = {"status": obj["status"]}
        if namespace:
            self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, plural, name, patch)
        else:
            self.custom.patch_cluster_custom_object_status(GROUP, VERSION, plural, name, patch)

    def node_list(self) -> dict[str, Any]:
        """The NodeList as kube-scheduler would send it (nodeCacheCapable: false)."""
        listed: dict[str, Any] = self.api_client.sanitize_for_serialization(self.core.list_node())
        return listed


@pytest.fixture
def kube(apiserver: Any) -> Iterator[Kube]:
    api_client = apiserver.api_client()
    try:
        yield Kube(api_client)
    finally:
        api_client.close()


class Program:
    """A running tke-eni-ip-scheduler; its JSON log lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tke_eni_ip_scheduler.main import run; run()", *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def logged(self, message: str) -> dict[str, Any] | None:
        for line in list(self.lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == message:
                return entry  # type: ignore[no-any-return]
        return None

    def url_of(self, message: str) -> str:
        entry = eventually(lambda: self.logged(message) or self.process.poll() is not None,
                           message=f"the program did not log {message!r}")
        if not isinstance(entry, dict):
            raise AssertionError(f"the program exited {self.process.returncode}: {self.lines}")
        return str(entry["url"])

    def request(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        host, port = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)
        path = "/" + url.removeprefix("http://").split("/", 1)[1] if "/" in url.removeprefix("http://") else "/"
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw.decode()
        finally:
            connection.close()

    def stop(self) -> int:
        """SIGTERM, wait, and release the pipe; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError("the program did not stop on SIGTERM") from None
        finally:
            self._reader.join(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()


@pytest.fixture
def run_program(kubeconfig: Path) -> Iterator[Callable[..., Program]]:
    """``run_program(*extra_args, env=None)``: the program on loopback ports, stopped (SIGTERM) afterwards."""
    started: list[Program] = []

    def run(*extra: str, env: dict[str, str] | None = None) -> Program:
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
        args = ["--kubeconfig", str(kubeconfig), "--listen", "127.0.0.1:0", "--health-probe-bind-address",
                "127.0.0.1:0", "--metrics-bind-address", "0", "--log-format", "json", *extra]
        program = Program(args, base)
        started.append(program)
        return program

    yield run
    for program in started:
        program.stop()


@pytest.fixture
def serve(run_program: Callable[..., Program]) -> Callable[..., tuple[Program, str]]:
    """``serve(*extra_args)``: the program started and ready (its /readyz answers 200), with its extender URL."""

    def start(*extra: str) -> tuple[Program, str]:
        program = run_program(*extra)
        health = program.url_of("Serving health and metrics")
        url = program.url_of("Serving the scheduler extender")
        eventually(lambda: program.request("GET", health + "/readyz")[0] == 200, message="never ready")
        return program, url

    return start


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, timeout=20.0, message=...)``: poll (real time) until true, else fail."""
    return eventually
