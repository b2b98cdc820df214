"""FakeApiServer: the fake Kubernetes API server as one object to start and stop.

It wires the registry, store, garbage collector and HTTP server together, seeds the namespaces a
cluster always has, writes kubeconfigs, and optionally persists its state (loaded on start,
written atomically on stop and every few seconds while it changes). It serves on loopback only
and refuses any other address.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
from typing import Any

from . import persistence
from .endpoints import Endpoints
from .errors import StatusError
from .gc import GarbageCollector
from .handler import ApiHTTPServer, ServerContext
from .kinds import Registry
from .store import Store
from .streaming import WatchSettings

log = logging.getLogger(__name__)
SEEDED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class FakeApiServer:
    """A loopback Kubernetes API server that the official client and kubectl accept.

    >>> srv = FakeApiServer()
    >>> srv.start()
    >>> srv.url.startswith("http://127.0.0.1:")
    True
    >>> srv.stop()
    """

    def __init__(
        self,
        persist_path: str | None = None,
        watch_history: int = 10000,
        *,
        bookmark_interval: float = 10.0,
        persist_interval: float = 5.0,
        graceful_pod_deletion: bool = False,
    ) -> None:
        self.registry = Registry()
        self.store = Store(self.registry, history_size=watch_history)
        self.store.graceful_pods = graceful_pod_deletion
        self.gc = GarbageCollector(self.store)
        self.store.gc_notify = self.gc.enqueue
        self._persist_path = persist_path
        self._persist_interval = persist_interval
        self._stop = threading.Event()
        self._watch_settings = WatchSettings(bookmark_interval=bookmark_interval, stop=self._stop)
        self._httpd: ApiHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._saved_changes = -1
        self._save_lock = threading.Lock()
        self.url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Load state, bind, and return once the server answers requests."""
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the fake API server listens on loopback only, not {host}")
        if self._httpd is not None:
            raise RuntimeError("already started")
        state = persistence.load(self._persist_path) if self._persist_path else None
        if state is not None:
            self.store.restore(state)
            self._saved_changes = self.store.changes
        self._seed()
        context = ServerContext(
            store=self.store,
            registry=self.registry,
            endpoints=Endpoints(self.store, self.registry),
            watch=self._watch_settings,
        )
        self._httpd = ApiHTTPServer((host, port), context)
        bound_host, bound_port = str(self._httpd.server_address[0]), int(self._httpd.server_address[1])
        context.address = f"{bound_host}:{bound_port}"
        self.url = f"http://{bound_host}:{bound_port}"
        self._stop.clear()
        self.gc.start()
        serve = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-apiserver", daemon=True
        )
        serve.start()
        self._threads = [serve]
        if self._persist_path:
            saver = threading.Thread(target=self._persist_loop, name="fake-apiserver-persist", daemon=True)
            saver.start()
            self._threads.append(saver)
        with socket.create_connection((str(bound_host), int(bound_port)), timeout=5):
            pass

    def _seed(self) -> None:
        """Create the namespaces every cluster has, unless restored state already holds them."""
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        for name in SEEDED_NAMESPACES:
            try:
                self.store.get(ns_type, "", name)
            except StatusError:
                self.store.create(ns_type, "", {"metadata": {"name": name}})

    def stop(self) -> None:
        """Close every stream, stop serving, and persist the final state when configured."""
        self._stop.set()
        self.store.hub.close_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            with self._httpd.connections_lock:
                connections = list(self._httpd.open_connections)
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._httpd.server_close()
            self._httpd = None
        self.gc.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._persist_path:
            self.save()

    def save(self) -> None:
        """Write the state file now (no-op without a persist path or when nothing changed)."""
        if not self._persist_path:
            return
        with self._save_lock:
            changes = self.store.changes
            if changes == self._saved_changes:
                return
            persistence.save(self._persist_path, self.store.snapshot())
            self._saved_changes = changes

    def _persist_loop(self) -> None:
        while not self._stop.wait(self._persist_interval):
            try:
                self.save()
            except OSError:
                log.exception("Persisting API server state failed")

    def seed(self, *objects: dict[str, Any]) -> list[dict[str, Any]]:
        """Create objects directly, without HTTP (fast fixtures); same validation and events as a POST.

        Each object needs ``apiVersion`` and ``kind`` of a served resource, and ``metadata.namespace``
        when it is namespaced. Returns the stored objects (shared: do not mutate them).
        """
        created = []
        for obj in objects:
            rt = self.registry.by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            if rt is None:
                raise ValueError(f"no served resource for {obj.get('apiVersion')}/{obj.get('kind')}")
            namespace = str((obj.get("metadata") or {}).get("namespace") or "") if rt.namespaced else ""
            created.append(self.store.create(rt, namespace, obj).obj)
        return created

    def drop_watches(self) -> int:
        """Close every open watch stream (clients see the stream end); returns how many."""
        return self.store.hub.close_all()

    def compact(self) -> None:
        """Forget the watch history: watching from any older resourceVersion now gets 410 Expired."""
        with self.store.lock:
            self.store.hub.compact()

    def wait_for_gc(self, timeout: float = 5.0) -> bool:
        """Block until the garbage collector has nothing queued."""
        return self.gc.wait_idle(timeout)

    def kubeconfig(self, *, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}],
            "current-context": "fake",
            "preferences": {},
        }

    def write_kubeconfig(self, path: str) -> None:
        """Write a kubeconfig (JSON, which is also YAML) pointing at this server; atomically, so that a process
        waiting for the file to appear never reads half of it."""
        if not self.url:
            raise RuntimeError("start the server before writing its kubeconfig")
        partial = f"{path}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(self.kubeconfig(), f, indent=2)
        os.replace(partial, path)

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` configured for this server."""
        import kubernetes.client

        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        configuration.api_key = {"authorization": "fake-token"}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        return kubernetes.client.ApiClient(configuration)
