"""A node agent process for the crash tests of exclusive ENIs: the real ledgers, kernel and sockets, with an
optional pause right after an exclusive ENI moved into a pod (the ADD not answered yet) so that a test can
SIGKILL it there. Usage: ``python direct_agent_proc.py ROOT NODE_NETNS STATUS_JSON [PAUSE_SECONDS]``; prints
READY once its sockets listen. Not a test module (no ``test_`` prefix): the tests exec it."""

import json
import signal
import sys
import threading
import time
from pathlib import Path

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.directledger import DirectLedger
from eni.agent.directservice import DirectEniService
from eni.agent.ledger import Ledger
from eni.agent.netlinkpod import NetlinkPodNetworker
from eni.agent.nodesync import NodeSync
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService
from eni.netlink.pyroute import PyrouteNetwork
from eni.netlink.pyroute.directlink import PyrouteDirectLinks


class PausingLinks:
    """PyrouteDirectLinks that sleeps after each move into a pod, before the ADD can answer."""

    def __init__(self, inner, pause):
        self._inner, self._pause = inner, pause

    def attach_direct(self, spec):
        result = self._inner.attach_direct(spec)
        print("MOVED", flush=True)
        time.sleep(self._pause)
        return result

    def __getattr__(self, name):
        return getattr(self._inner, name)


def main(root, node_netns, status_file, pause=0.0):
    root = Path(root)
    network = PyrouteNetwork(node_netns)
    links = PyrouteDirectLinks(node_netns)
    direct = DirectEniService(DirectLedger(JsonFileCheckpointer.at(root / "state" / "direct-enis.json")),
                              PausingLinks(links, pause) if pause else links)
    service = AgentService(Ledger(JsonFileCheckpointer.at(root / "state" / "ledger.json")),
                           NetlinkPodNetworker(network), direct=direct)
    NodeSync(service, network, spec=lambda: {"maxDirectENI": 2}).sync(json.loads(Path(status_file).read_text()))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = ServerSettings(grpc_socket=root / "run" / "agent.sock", json_socket=root / "run" / "agent.json.sock")
    with AgentServers(service, settings):
        print("READY", flush=True)
        stop.wait(120)
    links.close()
    network.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
