"""Fixtures of the agent's component tests: the real servers over unix sockets in short temp dirs, and the
plugins built as the executables ``install`` writes."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.ledger import Ledger
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import parse_pool
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService
from eni.cni.bundle import build_plugin

NEC_STATUS = {
    "enis": [
        {"eniId": "eni-a", "mac": "02:00:00:00:00:0a", "primaryIP": "10.0.1.10", "subnetId": "subnet-a",
         "subnetCIDR": "10.0.1.0/24", "gateway": "10.0.1.1", "routeTableId": "rtb-1", "type": "route",
         "ips": [{"ip": f"10.0.1.{20 + i}", "state": "Bound"} for i in range(4)]},
    ]
}
TABLES = {"02:00:00:00:00:0a": 2003}


@pytest.fixture
def short_dir():
    """A temp dir with a short path: unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="agt", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Agent:
    def __init__(self, root, *, connection_timeout=5.0, workers=16):
        self.root = root
        self.network = FakePodNetworker()
        self.checkpoint = JsonFileCheckpointer.at(root / "state" / "ledger.json")
        self.ledger = Ledger(self.checkpoint)
        self.service = AgentService(self.ledger, self.network)
        self.service.update_pool(parse_pool(NEC_STATUS), TABLES)
        self.settings = ServerSettings(grpc_socket=root / "run" / "agent.sock",
                                       json_socket=root / "run" / "agent.json.sock",
                                       connection_timeout=connection_timeout, workers=workers)
        self.servers = AgentServers(self.service, self.settings)


@pytest.fixture
def agent(short_dir):
    a = Agent(short_dir, connection_timeout=1.0)
    a.servers.start()
    yield a
    a.servers.stop(grace=0.5)


@pytest.fixture
def agent_factory(short_dir):
    started = []

    def make(**options):
        a = Agent(short_dir, **options)
        a.servers.start()
        started.append(a)
        return a

    yield make
    for a in started:
        a.servers.stop(grace=0.5)


@pytest.fixture(scope="session")
def plugin_dir():
    path = Path(tempfile.mkdtemp(prefix="cnibin", dir="/tmp"))
    for name in ("tke-route-eni", "tke-eni-ipamc"):
        target = path / name
        target.write_bytes(build_plugin(name, interpreter=f"{sys.executable} -IS"))
        os.chmod(target, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
