"""Fixtures of the sim data-plane tests: a router and node namespaces programmed by the emulator's hooks.

Every namespace carries a fresh ``tkesim-`` prefix and is removed at teardown, also when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

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

    def add_node(self, zone: str, subnet_id: str) -> NodePort:
        reply = self.emu.add_instance(zone=zone, instance_type="S5.MEDIUM4", subnetId=subnet_id)
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
