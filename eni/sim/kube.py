"""The few Kubernetes calls the simulation's stand-ins make, over the official client, as plain dicts.

Objects stay JSON dicts (``_preload_content=False``) so status patches carry exactly the fields written.
Every call has a request timeout; errors surface as ``kubernetes.client.ApiException`` or urllib3 errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes

REQUEST_TIMEOUT = 10.0
Obj = dict[str, Any]


class KubeApi:
    """Core/v1 calls for the kubelet and scheduler stand-ins."""

    def __init__(self, kubeconfig: Path, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.client: Any = kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig))
        # Typed as Any: bodies are plain dicts here, not the client's model classes.
        self.core: Any = kubernetes.client.CoreV1Api(self.client)
        self.timeout = timeout

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _json(response: Any) -> Obj:
        data = json.loads(response.data or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the API server answered with a non-object")
        return data

    def list_pods(self, *, field_selector: str = "", watch_timeout: int = 0) -> Obj:
        return self._json(self.core.list_pod_for_all_namespaces(
            field_selector=field_selector, _preload_content=False, _request_timeout=self.timeout))

    def watch_pods(self, *, field_selector: str, resource_version: str, timeout_seconds: int) -> Any:
        """A raw watch response; iterate ``.stream()`` lines, ``release_conn()`` when done."""
        return self.core.list_pod_for_all_namespaces(
            field_selector=field_selector, watch=True, resource_version=resource_version,
            timeout_seconds=timeout_seconds, allow_watch_bookmarks=True, _preload_content=False,
            _request_timeout=(self.timeout, timeout_seconds + self.timeout))

    def list_nodes(self) -> Obj:
        return self._json(self.core.list_node(_preload_content=False, _request_timeout=self.timeout))

    def get_node(self, name: str) -> Obj:
        return self._json(self.core.read_node(name, _preload_content=False, _request_timeout=self.timeout))

    def create_node(self, body: Obj) -> Obj:
        return self._json(self.core.create_node(body, _preload_content=False, _request_timeout=self.timeout))

    def patch_node(self, name: str, body: Obj) -> Obj:
        return self._json(self.core.patch_node(name, body, _preload_content=False, _request_timeout=self.timeout))

    def patch_node_status(self, name: str, status: Obj) -> Obj:
        return self._json(self.core.patch_node_status(name, {"status": status}, _preload_content=False,
                                                      _request_timeout=self.timeout))

    def patch_pod_status(self, namespace: str, name: str, status: Obj) -> Obj:
        return self._json(self.core.patch_namespaced_pod_status(
            name, namespace, {"status": status}, _preload_content=False, _request_timeout=self.timeout))

    def create_event(self, namespace: str, body: Obj) -> Obj:
        return self._json(self.core.create_namespaced_event(namespace, body, _preload_content=False,
                                                            _request_timeout=self.timeout))

    def delete_pod_now(self, namespace: str, name: str, *, uid: str) -> None:
        """The kubelet's final delete of a terminating pod: grace 0, only if it is still the same pod."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": uid}}
        self.core.delete_namespaced_pod(name, namespace, body=body, _preload_content=False,
                                        _request_timeout=self.timeout)

    def bind(self, namespace: str, name: str, node: str, *, uid: str = "") -> None:
        body: Obj = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": namespace},
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if uid:
            body["metadata"]["uid"] = uid
        self.core.create_namespaced_pod_binding(name, namespace, body, _preload_content=False,
                                                _request_timeout=self.timeout)
