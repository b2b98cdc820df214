"""Fixtures of the sim stand-in component tests: a KubeApi on the fake API server, nodes and pods to bind,
and a recording extender that speaks kube-scheduler's extender JSON on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from eni.sim.kube import KubeApi
from eni.sim.kubelet.objects import NodeSpec, node_object, node_status

ENI_IP = "tke.cloud.tencent.com/eni-ip"


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[KubeApi]:
    api = KubeApi(kubeconfig)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def add_node(kube: KubeApi) -> Callable[..., dict[str, Any]]:
    """``add_node(name, zone=..., eni_ips=N, ready=True)``: a registered Node with its status."""
    from datetime import datetime, timezone

    def add(name: str, *, zone: str = "ap-guangzhou-3", eni_ips: int = 10, ready: bool = True) -> dict[str, Any]:
        spec = NodeSpec(name=name, instance_id="ins-" + name[-8:].rjust(8, "0"), zone=zone, region="ap-guangzhou",
                        instance_type="S5.MEDIUM4", primary_ip="10.0.1.10")
        kube.create_node(node_object(spec))
        status = node_status(spec, {ENI_IP: (eni_ips, eni_ips)}, now=datetime.now(timezone.utc))
        if not ready:
            for cond in status["conditions"]:
                if cond["type"] == "Ready":
                    cond["status"] = "False"
        return kube.patch_node_status(name, status)

    return add


@pytest.fixture
def make_pod(kube: KubeApi) -> Callable[..., dict[str, Any]]:
    def make(name: str, *, eni_ips: int = 1, node_selector: dict[str, str] | None = None,
             node_name: str = "") -> dict[str, Any]:
        container: dict[str, Any] = {"name": "app", "image": "busybox"}
        if eni_ips:
            container["resources"] = {"requests": {ENI_IP: str(eni_ips)}, "limits": {ENI_IP: str(eni_ips)}}
        spec: dict[str, Any] = {"containers": [container]}
        if node_selector:
            spec["nodeSelector"] = node_selector
        if node_name:
            spec["nodeName"] = node_name
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}
        return dict(kube.core.create_namespaced_pod("default", body, _preload_content=False).json())

    return make


@dataclass
class RecordingExtender:
    """An extender on loopback: records each request body per verb and answers with ``decide``."""

    url: str
    requests: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"filter": [], "prioritize": []})
    reject: dict[str, str] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def extender() -> Iterator[RecordingExtender]:
    state = RecordingExtender(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            verb = self.path.rsplit("/", 1)[-1]
            state.requests.setdefault(verb, []).append(body)
            names = [n["metadata"]["name"] for n in body["Nodes"]["items"]]
            if verb == "filter":
                keep = [n for n in body["Nodes"]["items"] if n["metadata"]["name"] not in state.reject]
                reply: Any = {"Nodes": {"items": keep}, "FailedNodes": {n: state.reject[n] for n in names
                                                                         if n in state.reject}, "Error": ""}
            else:
                reply = [{"Host": n, "Score": state.scores.get(n, 0)} for n in names]
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/ip-scheduler"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
