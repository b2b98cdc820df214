"""Fixtures of the agent's netns tests: a node namespace with a veth "ENI" and a VPC peer (from
test/netns/conftest.py), the real agent (PyrouteNetwork, ledger, servers) for that node, the plugins installed
into a temp CNI bin dir, and a runner that execs plugins inside the node namespace as a runtime does."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.install import CniInstallSettings, install
from eni.agent.ledger import Ledger
from eni.agent.netlinkpod import NetlinkPodNetworker
from eni.agent.nodesync import NodeSync
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService
from eni.cni.bundle import ENTRY_POINTS, build_plugin
from eni.netlink.pyroute import PyrouteNetwork

REFERENCE_PLUGINS = Path("/usr/lib/cni")
ENI_MAC = "02:00:0a:14:00:05"
POD_IPS = [f"10.20.0.{10 + i}" for i in range(8)]


@dataclass
class NodeAgent:
    pair: object
    eni: object
    root: Path
    bin_dir: Path
    settings: CniInstallSettings
    service: AgentService
    status: dict
    network: object
    sync: NodeSync

    def conf(self, **extra):
        doc = {"cniVersion": "1.0.0", "name": "tke-eni", "type": "tke-route-eni",
               "agentSocket": str(self.settings.agent_socket)}
        doc.update(extra)
        return doc

    def exec(self, plugin, command, conf, *, container, netns, ifname="eth0", cni_path=None):
        """Execs ``plugin`` inside the node namespace with CNI env vars and the config on stdin."""
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": ifname,
               "CNI_PATH": cni_path or f"{self.bin_dir}:{REFERENCE_PLUGINS}", "PATH": os.environ.get("PATH", ""),
               "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={container}"}
        if netns:
            env["CNI_NETNS"] = netns
        exe = plugin if "/" in str(plugin) else str(self.bin_dir / plugin)
        proc = subprocess.run(["ip", "netns", "exec", self.pair.node.name, exe], input=json.dumps(conf).encode(),
                              env=env, capture_output=True, timeout=60)
        out = proc.stdout.decode().strip()
        return proc.returncode, (json.loads(out) if out else None), proc.stderr.decode()


def nec_status(pair, eni):
    return {"enis": [{"eniId": "eni-1", "mac": ENI_MAC, "primaryIP": str(eni.primary_ip),
                      "subnetId": "subnet-1", "subnetCIDR": str(eni.subnet), "gateway": str(eni.gateway),
                      "routeTableId": "rtb-1", "type": "route",
                      "ips": [{"ip": ip, "state": "Bound"} for ip in POD_IPS]}]}


@pytest.fixture
def node_agent(node_vpc_pair):
    pair = node_vpc_pair(eni_mac=ENI_MAC, subnet="10.20.0.0/24")
    eni = pair.enis[0]
    root = Path(tempfile.mkdtemp(prefix="nagt", dir="/tmp"))
    network = PyrouteNetwork(pair.node.name)
    servers = None
    try:
        service = AgentService(Ledger(JsonFileCheckpointer.at(root / "state" / "ledger.json")),
                               NetlinkPodNetworker(network))
        status = nec_status(pair, eni)
        sync = NodeSync(service, network)
        sync.sync(status)
        server_settings = ServerSettings(grpc_socket=root / "run" / "agent.sock",
                                         json_socket=root / "run" / "agent.json.sock")
        servers = AgentServers(service, server_settings)
        servers.start()
        settings = CniInstallSettings(agent_socket=server_settings.json_socket, cni_bin_dir=root / "bin",
                                      cni_conf_dir=root / "net.d", port_mapping=True)
        install(settings, {n: build_plugin(n, interpreter=f"{sys.executable} -IS") for n in ENTRY_POINTS})
        yield NodeAgent(pair, eni, root, root / "bin", settings, service, status, network, sync)
    finally:
        if servers is not None:
            servers.stop(grace=0.5)
        network.close()
        shutil.rmtree(root, ignore_errors=True)


# NB: random per test process: the agent finds stranded exclusive ENIs by scanning every namespace in
# /run/netns, which tests running in parallel share, so a fixed MAC would match another test's link.
DIRECT_MAC = "02:5e:" + ":".join(f"{b:02x}" for b in os.urandom(4))
DIRECT_ID = "eni-d1"


@dataclass
class DirectNode:
    """``node_agent`` plus an exclusive ENI (``direct``: link eni1 in the node, its VPC end answering as gateway)."""

    agent: NodeAgent
    direct: object
    links: object
    status: dict


def direct_status(agent, direct, *, state="Bound", pod=None):
    """The node's NEC status: the shared ENI of ``nec_status`` plus the exclusive ENI."""
    entry = {"eniId": DIRECT_ID, "mac": DIRECT_MAC, "primaryIP": str(direct.primary_ip), "subnetId": "subnet-2",
             "subnetCIDR": str(direct.subnet), "gateway": str(direct.gateway), "type": "direct", "state": state}
    if pod is not None:
        entry["pod"] = pod
    status = nec_status(agent.pair, agent.eni)
    status["enis"].append(entry)
    return status


@pytest.fixture
def direct_node(node_vpc_pair):
    """A node agent serving exclusive ENIs: the real kernel, ledgers and sockets, plugins installed."""
    from eni.agent.directledger import DirectLedger
    from eni.agent.directservice import DirectEniService
    from eni.netlink.pyroute.directlink import PyrouteDirectLinks

    pair = node_vpc_pair(eni_mac=ENI_MAC, subnet="10.20.0.0/24")
    direct = pair.add_eni(mac=DIRECT_MAC, subnet="10.30.0.0/24")
    root = Path(tempfile.mkdtemp(prefix="ndir", dir="/tmp"))
    network = PyrouteNetwork(pair.node.name)
    links = PyrouteDirectLinks(pair.node.name)
    servers = None
    try:
        service = AgentService(Ledger(JsonFileCheckpointer.at(root / "state" / "ledger.json")),
                               NetlinkPodNetworker(network),
                               direct=DirectEniService(DirectLedger(JsonFileCheckpointer.at(
                                   root / "state" / "direct-enis.json")), links))
        agent_status = nec_status(pair, pair.enis[0])
        sync = NodeSync(service, network, spec=lambda: {"maxDirectENI": 2})
        server_settings = ServerSettings(grpc_socket=root / "run" / "agent.sock",
                                         json_socket=root / "run" / "agent.json.sock")
        servers = AgentServers(service, server_settings)
        servers.start()
        settings = CniInstallSettings(agent_socket=server_settings.json_socket, cni_bin_dir=root / "bin",
                                      cni_conf_dir=root / "net.d", port_mapping=False)
        install(settings, {n: build_plugin(n, interpreter=f"{sys.executable} -IS") for n in ENTRY_POINTS})
        agent = NodeAgent(pair, pair.enis[0], root, root / "bin", settings, service, agent_status, network, sync)
        status = direct_status(agent, direct)
        sync.sync(status)
        yield DirectNode(agent, direct, links, status)
    finally:
        if servers is not None:
            servers.stop(grace=0.5)
        links.close()
        network.close()
        shutil.rmtree(root, ignore_errors=True)
