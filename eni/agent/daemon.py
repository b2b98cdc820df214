"""The running node agent: its parts assembled over a node network, the cluster view and the API client.

What runs (``AgentDaemon``):
- the API servers (gRPC and JSON unix sockets), started first and stopped last: DEL and the ledger work
  even while the API server is unreachable;
- the node loop (``NodeLoop``): CNI install when changed, ENIs by MAC, sysctls, pod-rule drift repair, the
  NEC status applied to the pool, ``status.agent`` published when changed or due (``StatusPublisher``), the
  device plugin's counts updated, and the IP GC every ``gc_interval``; woken by every NEC change, and
  reporting in-use IPs promptly after each ADD/DEL;
- the device plugins: eni-ip (capacity = max bindable IPs of the NEC spec, healthy = IPs bound; in static-IP
  mode every bindable IP, since ipamd binds a pod's IP only after the pod is scheduled), direct-eni (capacity =
  ``maxDirectENI``, healthy = exclusive ENIs attached; all of them in static-IP mode) and eip (``eipQuota``);
- with a ``direct_network``: exclusive ENIs (``tke-direct-eni``), their own crash-safe ledger, the pod lookup
  that tells an exclusive pod from a shared one (the informer's cache, then ``fetch_pod``).
Readiness (``ready``): the NEC is known and the CNI plugins are installed.

Must never: build concrete infrastructure (``cmd`` passes the network, the informers and the patch callable);
leave pods without networking when stopped (stopping removes only the sockets; veths, routes and rules stay).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.deviceplugin import DIRECT_ENI, EIP, ENI_IP, DevicePluginServer, DevicePluginSettings
from eni.agent.directledger import DirectLedger
from eni.agent.directpool import DirectPool
from eni.agent.directservice import DirectEniService
from eni.agent.gc import IpGarbageCollector
from eni.agent.ledger import Ledger
from eni.agent.metrics import AgentMetrics
from eni.agent.netchoice import PodObjects
from eni.agent.netlinkpod import NetlinkPodNetworker, NodeAndPodNetwork
from eni.agent.nodeloop import NodeLoop, NodeLoopSettings
from eni.agent.nodesync import AgentStatus, NodeSync
from eni.agent.nodeview import NodeView, bound_pod_ips, direct_eni_counts, eip_counts, eni_ip_counts
from eni.agent.pool import PoolView
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService, ServiceSettings
from eni.agent.statuspub import DEFAULT_HEARTBEAT, StatusPublisher
from eni.netlink.interfaces import DirectEniNetwork
from eni.runtime.manager import RunnableFunc

__all__ = ["AgentDaemon", "AgentDaemonSettings", "DIRECT_LEDGER_FILE", "LEDGER_FILE"]

log = logging.getLogger(__name__)

LEDGER_FILE = "ledger.json"
DIRECT_LEDGER_FILE = "direct-enis.json"
_NO_DIRECT_POOL = DirectPool()


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDaemonSettings:
    state_dir: Path
    """Holds the ledgers (``ledger.json``, and ``direct-enis.json`` for exclusive ENIs)."""
    servers: ServerSettings
    ip_cooldown: float = 30.0
    gc_interval: float = 60.0
    gc_grace: float = 60.0
    resync_interval: float = 10.0
    """Seconds between node loop steps without NEC changes: the drift-repair period."""
    heartbeat: float = DEFAULT_HEARTBEAT
    """``status.agent`` is written at least this often even when nothing changed."""
    device_plugins: DevicePluginSettings | None = None
    """Where the kubelet's device-plugin folder is; None: no device plugin."""
    static_ips: bool = False
    """ipamd runs in static-IP mode: IPs are bound per pod after scheduling, so every bindable IP is allocatable."""
    static_ip_wait: float = 3.0
    """Seconds an ADD waits for ipamd to list its pod's static IP before answering "try again later"."""


class AgentDaemon:
    """Builds the agent's parts; ``run(stop)`` serves until ``stop`` is set (``start``/``stop`` for a Manager)."""

    def __init__(
        self,
        settings: AgentDaemonSettings,
        *,
        network: NodeAndPodNetwork,
        view: NodeView,
        patch_status: Callable[[Mapping[str, Any]], object],
        install: Callable[[], object],
        registry: CollectorRegistry,
        direct_network: DirectEniNetwork | None = None,
        fetch_pod: Callable[[str, str], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self._settings = settings
        self._view = view
        self._install = install
        self._installed = threading.Event()
        self._applied = threading.Event()  # the node loop applied the NEC status (the pool) at least once
        # The NEC spec and the pools the device plugins' counts were last made from (only the node loop uses it).
        self._counted_from: tuple[Mapping[str, Any] | None, PoolView | None, DirectPool | None] = (None, None, None)
        self.ledger = Ledger(JsonFileCheckpointer.at(settings.state_dir / LEDGER_FILE), cooldown=settings.ip_cooldown)
        self.direct = (DirectEniService(DirectLedger(JsonFileCheckpointer.at(settings.state_dir / DIRECT_LEDGER_FILE)),
                                        direct_network, static=settings.static_ips)
                       if direct_network is not None else None)
        # NB: the loop is built below; no ADD/DEL can arrive before start_servers.
        self.service = AgentService(self.ledger, NetlinkPodNetworker(network),
                                    settings=ServiceSettings(static_ip_wait=settings.static_ip_wait),
                                    on_change=lambda: self.loop.allocations_changed(), direct=self.direct,
                                    pod_lookup=PodObjects(view.pod, fetch_pod))
        self.metrics = AgentMetrics(registry, allocations=lambda: len(self.ledger.in_use()),
                                    pool_ips=lambda: bound_pod_ips(self.service.pool()),
                                    direct_enis=lambda: len(self.direct.ledger.in_use()) if self.direct else 0)
        self.publisher = StatusPublisher(self._counted(patch_status), current=view.nec_status,
                                         heartbeat=settings.heartbeat)
        plugins = settings.device_plugins
        self.device_plugin = DevicePluginServer(ENI_IP, plugins) if plugins is not None else None
        self.direct_eni_plugin = DevicePluginServer(DIRECT_ENI, plugins) if plugins is not None else None
        self.eip_plugin = DevicePluginServer(EIP, plugins) if plugins is not None else None
        self.gc = IpGarbageCollector(self.service, network, view.live_pods, grace=settings.gc_grace)
        self.loop = NodeLoop(NodeSync(self.service, network, spec=view.nec_spec), status=view.nec_status,
                             publish=self._publish,
                             gc=self.gc, install=self._install_once,
                             settings=NodeLoopSettings(resync_interval=settings.resync_interval,
                                                       gc_interval=settings.gc_interval))
        self.servers = AgentServers(self.service, settings.servers, observe=self.metrics.observe)
        view.on_nec_change(self.loop.wake)

    # --- lifecycle -------------------------------------------------------------------------------------

    def start_servers(self) -> None:
        """Serves the agent API (call before the informers sync: DEL must work without the API server)."""
        self.servers.start()

    def close(self, grace: float = 2.0) -> None:
        """Stops the API servers and the background veth deletions; pods keep their networking."""
        self.servers.stop(grace)
        self.service.close(timeout=grace)

    def runnables(self) -> list[Any]:
        """What a Manager runs once the informers synced: the node loop and the device plugins."""
        parts: list[Any] = [RunnableFunc(self.loop.run, need_leader_election=False)]
        parts += [p for p in (self.device_plugin, self.direct_eni_plugin, self.eip_plugin) if p is not None]
        return parts

    def ready(self) -> None:
        """Readiness check: raises while the NEC is unknown, the CNI plugins are not installed or the NEC's pool
        was not applied yet (until then an ADD, even the retry of a pod this node already serves, cannot work)."""
        if not self._view.nec_synced():
            raise RuntimeError("the node's NodeENIConfig is not known yet")
        if not self._installed.is_set():
            raise RuntimeError("the CNI plugins are not installed yet")
        if not self._applied.is_set():
            raise RuntimeError("the NodeENIConfig's ENIs and IPs are not applied yet")

    # --- node loop hooks -------------------------------------------------------------------------------

    def _install_once(self) -> None:
        self._install()
        self._installed.set()

    def _publish(self, status: AgentStatus) -> None:
        self._applied.set()  # NB: the node loop publishes only what it computed after applying the NEC status
        self._update_device_counts()
        self.publisher.publish(status)

    def _update_device_counts(self) -> None:
        """Hands the device plugins their counts; recounted only when the NEC spec or a pool changed, since most
        publishes follow an ADD or DEL, which changes neither (counting walks every IP of the pool)."""
        spec, pool = self._view.nec_spec(), self.service.pool()
        direct_pool = self.direct.pool() if self.direct is not None else _NO_DIRECT_POOL
        seen_spec, seen_pool, seen_direct = self._counted_from
        if seen_pool is pool and seen_direct is direct_pool and seen_spec == spec:
            return
        static = self._settings.static_ips
        for plugin, counts in ((self.device_plugin, eni_ip_counts(spec, pool, static_ips=static)),
                               (self.direct_eni_plugin, direct_eni_counts(spec, direct_pool, static_ips=static)),
                               (self.eip_plugin, eip_counts(spec))):
            if plugin is not None:
                plugin.update(capacity=counts.capacity, healthy=counts.healthy)
        self._counted_from = (spec, pool, direct_pool)

    def _counted(self, patch: Callable[[Mapping[str, Any]], object]) -> Callable[[Mapping[str, Any]], object]:
        def counted(body: Mapping[str, Any]) -> object:
            result = patch(body)
            self.metrics.status_patches.inc()
            return result

        return counted
