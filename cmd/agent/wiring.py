"""Builds tke-eni-agent's concrete parts from validated settings and runs them.

``start`` opens the node's network namespace (``--netns``; every kernel operation goes there, never to the
agent's own namespace unless that is the node's), connects to the API server, starts the agent API sockets
at once (DEL works while the API server is unreachable), then runs a Manager with two field-selected
informers (this node's NodeENIConfig and its pods), the node loop and the device plugins (eni-ip, direct-eni,
eip) until SIGTERM/SIGINT (exit 0) or a failure (exit 1). Exclusive ENIs are moved between the node's and the
pods' namespaces by ``PyrouteDirectLinks``; a pod not yet in the informer's cache is read with one GET bounded by
``POD_LOOKUP_TIMEOUT``. Stopping removes the sockets and leaves every pod's network
in place. This module only assembles; it decides nothing.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from .logs import configure_logging
from .settings import AgentSettings

FAILED_STATUS = 1
NETWORK_NAME = "tke-eni"
POD_LOOKUP_TIMEOUT = 5.0
"""Seconds an ADD waits for the API server to say whether an uncached pod wants an exclusive ENI."""


def kube_transport(settings: AgentSettings) -> Any:
    """The API server transport from --kubeconfig or the in-cluster service account.

    The standard-library connector keeps the official client (~30 MiB) out of the agent; ``--kube-client=official``
    (ENI_KUBE_CLIENT=official) goes through the official client instead (kubeconfigs with exec or auth-provider
    credential plugins).
    """
    from eni.runtime.client.transport import KubeTransport

    if settings.kube.client == "official":
        return KubeTransport(official_api_client(settings))
    from eni.runtime.client.stdlib import StdlibConnector
    from eni.runtime.kubeconfig import in_cluster_config, load_kubeconfig

    if settings.kube.kubeconfig is not None:
        config = load_kubeconfig(settings.kube.kubeconfig, parse=_json_or_yaml)
    else:
        config = in_cluster_config()
    return KubeTransport(connector=StdlibConnector(config, user_agent="tke-eni-agent"))


def _json_or_yaml(text: str) -> Any:
    """A kubeconfig document; YAML is imported only for files that are not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        import yaml

        return yaml.safe_load(text)


def official_api_client(settings: AgentSettings) -> Any:
    """A kubernetes ApiClient from --kubeconfig, or the in-cluster service account."""
    import kubernetes.client
    import kubernetes.config

    if settings.kube.kubeconfig is not None:
        return kubernetes.config.new_client_from_config(config_file=str(settings.kube.kubeconfig))  # type: ignore[no-untyped-call]
    kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    return kubernetes.client.ApiClient()


def plugin_files(settings: AgentSettings) -> dict[str, bytes]:
    """The plugin executables, their ``#!`` line resolved to the interpreter's path (one exec less per start)."""
    from eni.cni.bundle import ENTRY_POINTS, build_plugin, resolve_interpreter

    interpreter = resolve_interpreter(settings.cni.plugin_interpreter)
    return {name: build_plugin(name, interpreter=interpreter, agent_socket=str(settings.api.json_socket))
            for name in ENTRY_POINTS}


def build(settings: AgentSettings, network: Any, direct_network: Any = None) -> tuple[Any, Any]:
    """The Manager (not started) and the AgentDaemon over ``network`` (the node namespace's PyrouteNetwork) and
    ``direct_network`` (its PyrouteDirectLinks; None: no exclusive ENIs)."""
    from prometheus_client import CollectorRegistry

    from eni.agent.daemon import AgentDaemon, AgentDaemonSettings
    from eni.agent.deviceplugin import DevicePluginSettings
    from eni.agent.install import CniInstallSettings, install
    from eni.agent.nodeview import NodeView
    from eni.agent.server import ServerSettings
    from eni.api.v1.nodeeniconfig import NODE_ENI_CONFIG
    from eni.runtime.cache.cache import InformerCache
    from eni.runtime.client.kube import KubeClient
    from eni.runtime.client.transport import KubeTransport
    from eni.runtime.healthz import HealthServer
    from eni.runtime.manager import Manager, ManagerSettings
    from eni.runtime.meta import POD, ObjectKey

    registry = CollectorRegistry()
    serving = settings.serving
    # NB: one HTTP server serves /healthz, /readyz and /metrics; a separate metrics address gets a second one.
    primary = serving.health or serving.metrics
    transport = kube_transport(settings)
    manager = Manager(
        cache=InformerCache.over(transport),
        client=KubeClient(transport, qps=settings.kube.qps, burst=settings.kube.burst),
        settings=ManagerSettings(health_host=(primary.host or "0.0.0.0") if primary else "127.0.0.1",
                                 health_port=primary.port if primary else None),
        registry=registry,
    )
    node = settings.node.node_name
    view = NodeView(node,
                    nec=manager.cache.informer_for(NODE_ENI_CONFIG, field_selector=f"metadata.name={node}"),
                    pods=manager.cache.informer_for(POD, field_selector=f"spec.nodeName={node}"))
    client = manager.client
    assert client is not None

    def patch_status(body: Mapping[str, Any]) -> object:
        return client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name=node), body, subresource="status")

    pods_api = KubeClient(KubeTransport(connector=transport.connector, timeout=POD_LOOKUP_TIMEOUT),
                            qps=settings.kube.qps, burst=settings.kube.burst)

    def fetch_pod(namespace: str, name: str) -> Mapping[str, Any] | None:
        from eni.agent.netchoice import PodLookupError
        from eni.runtime.client.errors import ApiError, NotFoundError

        try:
            return pods_api.get(POD, ObjectKey(namespace=namespace, name=name))
        except NotFoundError:
            return None
        except (ApiError, OSError) as e:
            raise PodLookupError(str(e)) from e

    plugins = plugin_files(settings)
    cni = CniInstallSettings(agent_socket=settings.api.json_socket, cni_bin_dir=settings.cni.bin_dir,
                             cni_conf_dir=settings.cni.conf_dir, network_name=NETWORK_NAME,
                             port_mapping=settings.cni.port_mapping)
    ipam = settings.ipam
    daemon = AgentDaemon(
        AgentDaemonSettings(
            state_dir=ipam.state_dir,
            servers=ServerSettings(grpc_socket=settings.api.grpc_socket, json_socket=settings.api.json_socket),
            ip_cooldown=ipam.ip_cooldown.total_seconds(), gc_interval=ipam.gc_interval.total_seconds(),
            gc_grace=ipam.gc_grace.total_seconds(), resync_interval=settings.node.sync_interval.total_seconds(),
            device_plugins=DevicePluginSettings(plugin_dir=settings.device_plugin.plugin_dir),
            static_ips=ipam.static_ips,
        ),
        network=network, view=view, patch_status=patch_status, install=lambda: install(cni, plugins),
        registry=registry, direct_network=direct_network, fetch_pod=fetch_pod,
    )
    manager.add(_ClosedOnStop(transport))
    for runnable in daemon.runnables():
        manager.add(runnable)
    manager.add_readyz_check("node", daemon.ready)
    if serving.health and serving.metrics and serving.metrics != serving.health:
        metrics = HealthServer(registry, host=serving.metrics.host or "0.0.0.0", port=serving.metrics.port)
        manager.add(_MetricsServer(metrics))
    return manager, daemon


class _MetricsServer:
    """The second HTTP server when --metrics-bind-address differs from --health-probe-bind-address."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def start(self, stop: threading.Event) -> None:
        self._server.start()
        try:
            stop.wait()
        finally:
            self._server.stop()

    def need_leader_election(self) -> bool:
        return False


class _ClosedOnStop:
    """Closes the API server transport's idle connections when the manager stops."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def start(self, stop: threading.Event) -> None:
        try:
            stop.wait()
        finally:
            self._transport.close()

    def need_leader_election(self) -> bool:
        return False


def settle_garbage_collector() -> None:
    """Moves what start-up built (modules, the daemon's parts; they live as long as the process) out of the
    collector's sight, so that its full collections no longer walk them. (A higher young-generation threshold
    was measured too: it saved no measurable time per ADD, since most objects of a request die by refcount.)"""
    gc.collect()
    gc.freeze()


def start(settings: AgentSettings, *, stop: threading.Event | None = None) -> int:
    """Run until stopped; returns the process exit status."""
    configure_logging(level=settings.logging.level, fmt=settings.logging.format)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        from eni.netlink.pyroute import PyrouteNetwork
        from eni.netlink.pyroute.directlink import PyrouteDirectLinks

        network = PyrouteNetwork(settings.node.netns or None)
    except Exception as e:
        print(f"tke-eni-agent: cannot open the node's network namespace: {type(e).__name__}: {e}", file=sys.stderr)
        return FAILED_STATUS
    try:
        direct_network = PyrouteDirectLinks(settings.node.netns or None)
    except Exception as e:
        network.close()
        print(f"tke-eni-agent: cannot open the node's network namespace: {type(e).__name__}: {e}", file=sys.stderr)
        return FAILED_STATUS
    try:
        try:
            manager, daemon = build(settings, network, direct_network)
            daemon.start_servers()
        except Exception as e:  # a bad kubeconfig, a corrupt ledger or a taken socket: a message, not a trace
            print(f"tke-eni-agent: cannot start: {type(e).__name__}: {e}", file=sys.stderr)
            return FAILED_STATUS
        settle_garbage_collector()
        try:
            status: int = manager.start(stop)
        finally:
            daemon.close()
        return status
    finally:
        direct_network.close()
        network.close()
