"""Fixtures of the fake API server's own tests: API clients, the test CRDs, raw HTTP."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes.client as k8s
import pytest
import yaml

from eni.runtime.testing.apiserver import FakeApiServer

FIXTURES = Path(__file__).parent / "fixtures"
GROUP = "test.tke.cloud.tencent.com"
RawResponse = tuple[int, Any]


def load_yaml(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((FIXTURES / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _pod_body(
    name: str, *, labels: dict[str, str] | None = None, node: str = "", namespace: str = "default"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }


def _widget_body(name: str, *, node: str = "node-1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "NodeWidget",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"nodeName": node},
    }


def _eventually(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy (for the asynchronous garbage collector)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        time.sleep(interval)


@pytest.fixture
def client(apiserver: FakeApiServer) -> Iterator[k8s.ApiClient]:
    api_client = apiserver.api_client()
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def core(client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(client)


@pytest.fixture
def custom(client: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(client)


@pytest.fixture
def crds(client: k8s.ApiClient) -> k8s.ApiextensionsV1Api:
    return k8s.ApiextensionsV1Api(client)


@pytest.fixture
def widget_crd(crds: k8s.ApiextensionsV1Api) -> dict[str, Any]:
    """The NodeWidget CRD, created through the official client."""
    body = load_yaml("widget-crd.yaml")
    crds.create_custom_resource_definition(body)
    return body


@pytest.fixture
def raw(apiserver: FakeApiServer) -> Callable[..., RawResponse]:
    """``raw(method, path, body=b"", headers={})`` → (status, decoded JSON or text)."""
    location = urlsplit(apiserver.url)

    def request(method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None) -> RawResponse:
        conn = http.client.HTTPConnection(location.hostname or "127.0.0.1", location.port, timeout=10)
        try:
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, payload.decode(errors="replace")

    return request


@pytest.fixture
def pod_body() -> Callable[..., dict[str, Any]]:
    """``pod_body(name, labels=None, node="", namespace="default")`` → a minimal valid Pod."""
    return _pod_body


@pytest.fixture
def widget_body() -> Callable[..., dict[str, Any]]:
    """``widget_body(name, node="node-1", labels=None)`` → a NodeWidget custom object."""
    return _widget_body


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """``eventually(check, timeout=10)`` polls until ``check()`` is truthy."""
    return _eventually
