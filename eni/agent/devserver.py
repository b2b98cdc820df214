"""A stand-alone agent API server over an in-memory pod networker, for subprocess and crash tests.

Usage: ``python -m eni.agent.devserver --state-dir D --grpc-socket G --json-socket J --pool status.json``
where ``status.json`` holds a NodeENIConfig ``status`` and ``--table MAC=N`` names each ENI's route table
(default: 100 + its position). ``--setup-delay`` slows pod set-up so that tests can kill it mid-ADD.
It prints ``READY`` on stdout once both sockets listen.

Must never: be used in production (pods get no real network); touch anything outside its state dir and sockets.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.ledger import Ledger
from eni.agent.podnet import FakePodNetworker, PodInterfaces, PodSetup
from eni.agent.pool import parse_pool
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService


class _SlowFakeNetworker(FakePodNetworker):
    """Sleeps before each set-up so that a test can SIGKILL the process while an ADD is in flight."""

    delay: float = 0.0

    def setup(self, spec: PodSetup) -> PodInterfaces:
        time.sleep(self.delay)
        return super().setup(spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eni.agent.devserver")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--grpc-socket", type=Path, required=True)
    parser.add_argument("--json-socket", type=Path, required=True)
    parser.add_argument("--pool", type=Path, required=True, help="JSON file with a NodeENIConfig status")
    parser.add_argument("--cooldown", type=float, default=30.0)
    parser.add_argument("--setup-delay", type=float, default=0.0)
    args = parser.parse_args(argv)

    pool = parse_pool(json.loads(args.pool.read_text()))
    ledger = Ledger(JsonFileCheckpointer.at(args.state_dir / "ledger.json"), cooldown=args.cooldown)
    network = _SlowFakeNetworker()
    network.delay = args.setup_delay
    service = AgentService(ledger, network)
    service.update_pool(pool, {eni.mac: 100 + i for i, eni in enumerate(pool.enis)})

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = ServerSettings(grpc_socket=args.grpc_socket, json_socket=args.json_socket)
    with AgentServers(service, settings):
        print("READY", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

