"""The node daemon: IP ledger, gRPC server, node and pod networking, GC, device plugins.

Entry points for the program's wiring (``cmd/agent``)::

    network = PyrouteNetwork(netns)                                                     # eni.netlink.pyroute
    ledger = Ledger(JsonFileCheckpointer.at(state_dir / "ledger.json"), cooldown=30.0)   # eni.agent.ledger
    service = AgentService(ledger, NetlinkPodNetworker(network))                        # eni.agent.service
    gc = IpGarbageCollector(service, network, live_pods, grace=60.0)                    # eni.agent.gc
    loop = NodeLoop(NodeSync(service, network), status=nec_status, publish=patch_status_agent, gc=gc,
                    install=lambda: install(CniInstallSettings(...), plugins))         # eni.agent.nodeloop
    threading.Thread(target=loop.run, args=(stop,)).start()  # call loop.wake() from the NEC informer handler
    run_servers(service, ServerSettings(grpc_socket=..., json_socket=...), stop)          # blocks until stop

where ``plugins = {name: build_plugin(name, interpreter=...) for name in eni.cni.bundle.ENTRY_POINTS}``,
``live_pods()`` returns the PodRefs the node-scoped pod informer holds (None until synced), ``nec_status()``
the NodeENIConfig's ``status`` (None until it exists) and ``patch_status_agent(s)`` merge-patches
``{"status": {"agent": s.to_json()}}``.

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
