"""Fixtures of the sim data-plane tests: a router and node namespaces programmed by the emulator's hooks.

Every namespace carries a fresh ``tkesim-`` prefix and is removed at teardown, also when the test fails.
"""

from __future__ import annotations

import ipaddress
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from eni.cloud.emulator import Emulator, World
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.sim.dataplane import NodePort, VpcDataPlane
from eni.sim.iproute import delete_netns, list_netns
from eni.sim.names import SimNames, new_prefix

SECRET_ID, SECRET_KEY = "AKIDsimnetns0001", "sim-netns-secret"


@dataclass
class SimVpc:
    names: SimNames
    plane: VpcDataPlane
    emu: Emulator
    vpc: TencentVpc
    nodes: list[NodePort] = field(default_factory=list)

    def add_node(self, zone: str, subnet_id: str, *, instance_type: str = "S5.MEDIUM4") -> NodePort:
        """A node namespace for a new CVM; S5.LARGE8 and larger may attach exclusive ENIs."""
        reply = self.emu.add_instance(zone=zone, instance_type=instance_type, subnetId=subnet_id)
        primary = reply["PrimaryNetworkInterface"]
        subnet = next(s.cidr for s in self.emu.world.subnets if s.subnet_id == subnet_id)
        port = self.plane.add_node(instance_id=reply["InstanceId"], eni_id=primary["NetworkInterfaceId"],
                                   mac=primary["MacAddress"], primary_ip=reply["PrivateIpAddresses"][0],
                                   subnet=subnet)
        self.nodes.append(port)
        return port


@pytest.fixture
def sim_vpc() -> Iterator[SimVpc]:
    names = SimNames(new_prefix())
    plane = VpcDataPlane(names)
    world = World.from_dict({"instances": []})
    emu = Emulator(world=world, secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.01, hooks=plane, seed=5)
    try:
        plane.create_router(s.cidr for s in world.subnets)
        emu.start()
        settings = TencentSettings(region=emu.region, cluster_id="cls-simnetns", vpc_id=world.vpc_id,
                                   endpoint=emu.endpoint, task_poll_interval=0.01, retry_initial_backoff=0.02)
        vpc = TencentVpc.from_settings(settings, Credentials(SECRET_ID, SECRET_KEY), registry=CollectorRegistry())
        yield SimVpc(names, plane, emu, vpc)
    finally:
        emu.stop()
        for netns in list_netns():
            if names.owns(netns):
                delete_netns(netns)


# ---- a node with the real agent core and the installed plugins ------------------------------------------

@dataclass
class AgentNode:
    port: NodePort
    root: Path
    bin_dir: Path
    conf_dir: Path
    service: object


def nec_status_from_cloud(vpc: TencentVpc, instance_id: str, subnets: dict[str, str]) -> dict:
    """A NodeENIConfig status for the instance's secondary ENIs, as ipamd would publish it."""
    enis = []
    for eni in vpc.describe_enis(instance_id=instance_id):
        if eni.primary:
            continue
        cidr = subnets[eni.subnet_id]
        gateway = str(ipaddress.IPv4Network(cidr).network_address + 1)
        enis.append({"eniId": eni.id, "mac": eni.mac, "primaryIP": eni.primary_ip, "subnetId": eni.subnet_id,
                     "subnetCIDR": cidr, "gateway": gateway, "routeTableId": "rtb-emu00001", "type": "route",
                     "ips": [{"ip": ip.address, "state": "Bound"} for ip in eni.secondary_ips]})
    return {"enis": enis}


@pytest.fixture
def agent_node(sim_vpc: SimVpc) -> Iterator[Callable[[NodePort], AgentNode]]:
    """``agent_node(port)``: the real agent core (ledger, pyroute2 network, JSON/gRPC sockets) for that node,
    synced from the cloud's view of its ENIs, with the CNI plugins and conflist installed in temp dirs."""
    from eni.agent.checkpoint import JsonFileCheckpointer
    from eni.agent.install import CniInstallSettings, install
    from eni.agent.ledger import Ledger
    from eni.agent.netlinkpod import NetlinkPodNetworker
    from eni.agent.nodesync import NodeSync
    from eni.agent.server import AgentServers, ServerSettings
    from eni.agent.service import AgentService
    from eni.cni.bundle import ENTRY_POINTS, build_plugin
    from eni.netlink.pyroute import PyrouteNetwork

    cleanups: list[Callable[[], None]] = []

    def build(port: NodePort) -> AgentNode:
        root = Path(tempfile.mkdtemp(prefix="simagt", dir="/tmp"))
        cleanups.append(lambda: shutil.rmtree(root, ignore_errors=True))
        network = PyrouteNetwork(port.netns)
        cleanups.append(network.close)
        service = AgentService(Ledger(JsonFileCheckpointer.at(root / "state" / "ledger.json")),
                               NetlinkPodNetworker(network))
        subnets = {s.subnet_id: s.cidr for s in sim_vpc.emu.world.subnets}
        NodeSync(service, network).sync(nec_status_from_cloud(sim_vpc.vpc, port.instance_id, subnets))
        server_settings = ServerSettings(grpc_socket=root / "run" / "agent.sock",
                                         json_socket=root / "run" / "agent.json.sock")
        servers = AgentServers(service, server_settings)
        servers.start()
        cleanups.append(lambda: servers.stop(grace=0.5))
        settings = CniInstallSettings(agent_socket=server_settings.json_socket, cni_bin_dir=root / "bin",
                                      cni_conf_dir=root / "net.d")
        install(settings, {n: build_plugin(n, interpreter=f"{sys.executable} -IS") for n in ENTRY_POINTS})
        return AgentNode(port, root, root / "bin", root / "net.d", service)

    try:
        yield build
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[object]:
    """A ``KubeApi`` on a fresh fake API server."""
    from eni.runtime.testing.apiserver import FakeApiServer
    from eni.sim.kube import KubeApi

    server = FakeApiServer()
    server.start()
    api = None
    try:
        server.write_kubeconfig(str(tmp_path / "kubeconfig"))
        api = KubeApi(tmp_path / "kubeconfig")
        yield api
    finally:
        if api is not None:
            api.close()
        server.stop()
