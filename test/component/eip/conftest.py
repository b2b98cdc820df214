"""The EIP controller for real: fake API server, Tencent emulator, the real TencentVpc adapter, a real Manager.

``eip_cluster(**EipSettings overrides)`` starts it all: one node (node-1) with an attached ENI and
four secondary IPs in the emulator and in its NodeENIConfig status; the controller runs under a
Manager whose clock is a FakeClock (``cluster.clock``), stepped a little while waiting so that the
work queue's backoff progresses, and a lot when a test means time to pass (expiry).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from eni.api.v1 import (
    EIP_CLAIM,
    NODE_ENI_CONFIG,
    EIPClaim,
    EniIP,
    NodeENI,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    ObjectMeta,
)
from eni.cloud.emulator import Emulator, World
from eni.cloud.tencent import TencentVpc
from eni.cloud.types import Eip, InstanceId, SubnetId
from eni.controllers.eip import EipController, EipSettings, setup
from eni.runtime.cache.cache import InformerCache
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.kube import KubeClient
from eni.runtime.client.transport import KubeTransport
from eni.runtime.manager import Manager, ManagerSettings
from eni.runtime.meta import EVENT, POD, ObjectKey
from eni.runtime.testing import FakeClock
from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim import testbed
from eni.sim.testbed import emulator_adapter

SECRET_ID = "AKIDeipcomponent0001"
SECRET_KEY = "eip-component-secret"
CLUSTER_ID = "cls-eiptest"
NODE = "node-1"
INSTANCE = "ins-emu00001"
SUBNET = "subnet-gz3a0001"


@dataclass
class EipCluster:
    apiserver: FakeApiServer
    emulator: Emulator
    adapter: TencentVpc
    client: KubeClient
    clock: FakeClock
    manager: Manager
    parts: EipController
    eni_id: str
    ips: list[str]
    settings: EipSettings
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def pod(self, name: str, annotations: dict[str, str], *, ip: str | None,
            owner: dict[str, Any] | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name, "namespace": "default", "annotations": annotations}
        if owner is not None:
            metadata["ownerReferences"] = [owner]
        spec = {"nodeName": NODE, "containers": [{"name": "c", "image": "pause"}]}
        self.client.create(POD, {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
        status = {"phase": "Running", **({"podIP": ip} if ip else {})}
        return self.client.patch(POD, ObjectKey("default", name), {"status": status}, subresource="status")

    def new_adapter(self) -> TencentVpc:
        """Another adapter on the same emulator: what a restarted ipamd process would build."""
        return adapter_for(self.emulator)

    def delete_pod(self, name: str) -> None:
        self.client.delete(POD, ObjectKey("default", name))

    def claim(self, name: str) -> EIPClaim | None:
        try:
            return EIPClaim.from_dict(self.client.get(EIP_CLAIM, ObjectKey("default", name)))
        except NotFoundError:
            return None

    def pod_annotations(self, name: str) -> dict[str, str]:
        return dict(self.client.get(POD, ObjectKey("default", name))["metadata"].get("annotations") or {})

    def eips(self) -> dict[str, Eip]:
        return {e.id: e for e in self.adapter.describe_eips()}

    def events(self, reason: str) -> list[dict[str, Any]]:
        return [e for e in self.client.list(EVENT, namespace="default") if e.get("reason") == reason]

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 20.0, step: float = 0.5,
                 message: str = "") -> Any:
        """Poll ``predicate`` (real time) until it is truthy; the fake clock moves ``step`` seconds per poll."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if step:
                self.clock.step(step)
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting: {message or predicate}")

    def bound_claim(self, name: str) -> EIPClaim:
        def bound() -> EIPClaim | None:
            claim = self.claim(name)
            return claim if claim is not None and claim.status.phase is not None and \
                claim.status.phase.value == "Bound" else None

        result: EIPClaim = self.wait_for(bound, message=f"claim {name} Bound")
        return result


def install_crds(client: KubeClient) -> None:
    testbed.install_crds(client, (NodeENIConfig, EIPClaim))


def adapter_for(emu: Emulator) -> TencentVpc:
    return emulator_adapter(emu, cluster_id=CLUSTER_ID, secret_id=SECRET_ID, secret_key=SECRET_KEY)


def node_with_ips(client: KubeClient, adapter: TencentVpc) -> tuple[str, list[str]]:
    """An ENI attached to node-1 with four IPs, published in node-1's NodeENIConfig status."""
    eni = adapter.create_eni(intent="eip-test/eni", subnet_id=SubnetId(SUBNET), name="node-1-eni")
    adapter.attach_eni(eni.id, InstanceId(INSTANCE))
    ips = [p.address for p in adapter.assign_private_ips(eni.id, intent="eip-test/ips", count=4)]
    nec = NodeENIConfig(metadata=ObjectMeta(name=NODE), spec=NodeENIConfigSpec(instance_id=INSTANCE),
                        status=NodeENIConfigStatus(enis=(NodeENI(eni_id=eni.id, primary_ip=eni.primary_ip,
                                                                 ips=tuple(EniIP(ip=ip) for ip in ips)),)))
    client.create(NODE_ENI_CONFIG, nec.to_dict())
    client.patch(NODE_ENI_CONFIG, ObjectKey("", NODE), nec.status_patch(), subresource="status")
    return eni.id, ips


@pytest.fixture
def eip_cluster(apiserver: FakeApiServer) -> Iterator[Callable[..., EipCluster]]:
    made: list[EipCluster] = []
    emulators: list[Emulator] = []

    def make(**settings: Any) -> EipCluster:
        emu = Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0, seed=5)
        emulators.append(emu)
        emu.start(host="127.0.0.1", port=0)
        adapter = adapter_for(emu)
        transport = KubeTransport(apiserver.api_client())
        client = KubeClient(transport, qps=5000, burst=5000)
        install_crds(client)
        eni_id, ips = node_with_ips(client, adapter)
        emu.calls.clear()
        clock = FakeClock()
        manager = Manager(cache=InformerCache.over(transport), client=client, clock=clock,
                          settings=ManagerSettings(health_port=None, graceful_shutdown_timeout=5.0),
                          registry=CollectorRegistry())
        eip_settings = EipSettings(cluster_id=CLUSTER_ID, clock=clock, **settings)
        parts = setup(manager, vpc=adapter, settings=eip_settings)
        cluster = EipCluster(apiserver, emu, adapter, client, clock, manager, parts, eni_id, ips, eip_settings)
        cluster.thread = threading.Thread(target=manager.start, args=(cluster.stop,), daemon=True)
        cluster.thread.start()
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.stop.set()
            if cluster.thread is not None:
                cluster.thread.join(15)
        for emu in emulators:
            emu.stop()
