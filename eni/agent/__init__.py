"""The node daemon: IP ledger, gRPC server, node and pod networking, GC, device plugins.

``eni.agent.daemon.AgentDaemon`` assembles the running agent (``cmd/agent/wiring.py`` builds its concrete
inputs)::

    network = PyrouteNetwork(netns)                                     # eni.netlink.pyroute: the node namespace
    view = NodeView(node, nec=<informer metadata.name=node>, pods=<informer spec.nodeName=node>)
    daemon = AgentDaemon(AgentDaemonSettings(state_dir=..., servers=ServerSettings(...), ...),
                         network=network, view=view, patch_status=<merge patch of the NEC status>,
                         install=lambda: install(CniInstallSettings(...), plugins), registry=registry,
                         direct_network=PyrouteDirectLinks(netns), fetch_pod=<one bounded GET of a pod>)
    daemon.start_servers()                       # the API sockets first: DEL works while the API server is away
    for runnable in daemon.runnables():          # the node loop and the eni-ip, direct-eni and eip device plugins
        manager.add(runnable)
    manager.add_readyz_check("node", daemon.ready)
    manager.start(stop); daemon.close()

Inside: ``Ledger`` (crash-safe allocations) -> ``AgentService`` (ADD/DEL/CHECK, IPAM) -> ``AgentServers``
(gRPC + JSON sockets); ``NodeLoop`` runs ``NodeSync`` (ENIs, sysctls, pool, rule repair), ``StatusPublisher``
(``status.agent``) and ``IpGarbageCollector``. Exclusive ENIs (``tke-direct-eni``, chosen in ``netchoice``) go
through ``DirectEniService`` over its own ``DirectLedger`` and the netlink layer's ``DirectEniNetwork``.
``run_servers`` is loaded lazily so that importing a light module of this package does not load grpc.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_servers"]


def __getattr__(name: str) -> Any:
    if name == "run_servers":
        from eni.agent.server import run_servers

        return run_servers
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
