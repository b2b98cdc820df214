"""The node daemon: IP ledger, gRPC server, node and pod networking, GC, device plugins.

Entry points for the program's wiring (``cmd/agent``)::

    ledger = Ledger(JsonFileCheckpointer.at(state_dir / "ledger.json"), cooldown=30.0)   # eni.agent.ledger
    service = AgentService(ledger, NetlinkPodNetworker(PyrouteNetwork(netns)))          # eni.agent.service
    NodeSync(service, network).sync(nec_status)   # per NodeENIConfig status; publish the returned status.agent
    install(CniInstallSettings(...), {name: build_plugin(name) for name in ENTRY_POINTS})  # eni.agent.install
    run_servers(service, ServerSettings(grpc_socket=..., json_socket=...), stop)          # blocks until stop

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
