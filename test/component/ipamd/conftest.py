"""A small cluster for ipamd: the fake API server, the cloud emulator, the real Tencent adapter on it,
a NodeReconciler driven step by step with a fake clock, and a simulated node agent per node.

``Cluster.converge()`` alternates reconciles and agent steps until nothing changes. The agent
simulator plays the agent's side of the release handshake exactly: it hands out only Bound IPs,
never one it listed as released, and lists a Releasing IP only when no pod holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    VPC_ENI,
    VPC_IP,
    AgentStatus,
    IPState,
    NodeENIConfig,
    NodeENIConfigStatus,
    agent_status_patch,
)
from eni.api.v1.constants import WarmTargets
from eni.cloud.emulator import Emulator, World
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.controllers.eni.records import Records
from eni.controllers.gc.collector import GcReport, LeakCollector
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.kube import KubeClient
from eni.runtime.events import EventRecorder
from eni.runtime.meta import EVENT, NODE, ObjectKey
from eni.runtime.reconcile import Request
from eni.runtime.testing import FakeClock
from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim.testbed import install_crds

SECRET_ID = "AKIDipamdcomponent01"
SECRET_KEY = "ipamd-component-secret"
CLUSTER_ID = "cls-ipamdtest"
NODES = {"node-1": ("ap-guangzhou-3", "ins-emu00001"), "node-2": ("ap-guangzhou-3", "ins-emu00002"),
         "node-3": ("ap-guangzhou-4", "ins-emu00003")}
ALL_SUBNETS = ("subnet-gz3a0001", "subnet-gz3b0002", "subnet-gz4a0003", "subnet-gz4b0004")


def key(name: str) -> ObjectKey:
    return ObjectKey(namespace="", name=name)


def adapter_settings(emu: Emulator, **overrides: Any) -> TencentSettings:
    values: dict[str, Any] = {
        "region": emu.region, "cluster_id": CLUSTER_ID, "vpc_id": emu.world.vpc_id, "endpoint": emu.endpoint,
        "qps": 1000.0, "burst": 100, "default_action_qps": 1000.0, "task_poll_interval": 0.01,
        "task_timeout": 10.0, "retry_initial_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 3,
        "describe_cache_ttl": 0.0, "request_timeout": 5.0,
    }
    values.update(overrides)
    return TencentSettings(**values)


@dataclass
class AgentSim:
    """The node agent's side of the NEC contract, for one node."""

    client: KubeClient
    node: str
    want_pods: int = 0
    holding: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)
    ever_held: set[str] = field(default_factory=set)

    def status(self) -> NodeENIConfigStatus:
        return NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, key(self.node))).status

    def step(self) -> None:
        try:
            status = self.status()
        except NotFoundError:
            return
        bound = set(status.ips_in_state(IPState.BOUND))
        releasing = set(status.ips_in_state(IPState.RELEASING))
        published = bound | releasing
        self.holding &= published  # an IP that vanished from the status while held is caught by the tests
        self.released = {ip for ip in self.released if ip in releasing}
        while len(self.holding) > self.want_pods:  # the newest pods go first: deterministic runs
            self.holding.remove(max(self.holding, key=lambda ip: tuple(int(p) for p in ip.split("."))))
        free = sorted(bound - self.holding - self.released)
        while len(self.holding) < self.want_pods and free:
            self.holding.add(free.pop(0))
        self.ever_held |= self.holding
        self.released |= releasing - self.holding
        agent = AgentStatus(in_use_ips=tuple(sorted(self.holding)), released_ips=tuple(sorted(self.released)),
                            heartbeat_time=datetime.now(UTC))
        if (status.agent.in_use_ips, status.agent.released_ips) != (agent.in_use_ips, agent.released_ips) \
                or status.agent.heartbeat_time is None:
            self.client.patch(NODE_ENI_CONFIG, key(self.node), agent_status_patch(agent), subresource="status")


@dataclass
class Cluster:
    apiserver: FakeApiServer
    emulator: Emulator
    client: KubeClient
    clock: FakeClock
    registry: CollectorRegistry
    recorder: EventRecorder
    adapter: TencentVpc
    config: PoolConfig
    reconciler: NodeReconciler
    agents: dict[str, AgentSim] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def add_node(self, name: str, *, annotations: dict[str, str] | None = None) -> None:
        zone, instance = NODES[name]
        self.client.create(NODE, {"apiVersion": "v1", "kind": "Node",
                                  "metadata": {"name": name, "annotations": annotations or {}},
                                  "spec": {"providerID": f"qcloud:///{zone}/{instance}"}})
        self.agents[name] = AgentSim(self.client, name)

    def restart(self, **config_overrides: Any) -> None:
        """A new ipamd process: fresh adapter, fresh reconciler memory, same cluster and cloud."""
        config = PoolConfig(**{**_config_values(self.config), **config_overrides})
        self.config = config
        self.adapter = TencentVpc.from_settings(adapter_settings(self.emulator), Credentials(SECRET_ID, SECRET_KEY),
                                                registry=CollectorRegistry())
        self.registry = CollectorRegistry()
        self.reconciler = make_reconciler(self)

    def reconcile(self, name: str) -> None:
        self.reconciler.reconcile(Request(namespace="", name=name))

    def collector(self, *, grace: float = 60.0) -> LeakCollector:
        return LeakCollector(vpc=self.adapter, records=Records(self.client), cluster_tags={"tke-clusterId": CLUSTER_ID},
                             interval=30.0, grace=grace, metrics=IpamdMetrics(CollectorRegistry()), clock=self.clock)

    def collect_garbage(self) -> GcReport:
        """Two GC passes a grace period apart (the first only notes suspects); returns the second's report."""
        gc = self.collector()
        gc.collect_once()
        self.clock.step(61.0)
        return gc.collect_once()

    def converge(self, *, rounds: int = 40, tick: bool = False, tolerate_errors: bool = False) -> int:
        """Reconcile and step the agents until the statuses settle; with ``tick`` the fake clock passes a
        release interval per round. Returns the rounds taken."""
        previous: Any = None
        for round_no in range(rounds):
            if tick:
                self.clock.step(self.config.release_interval)
            errors = 0
            for name in list(self.agents):
                try:
                    self.reconcile(name)
                except Exception:
                    if not tolerate_errors:
                        raise
                    errors += 1  # the controller would requeue it with backoff; the next round retries
                self.agents[name].step()
                self.check_no_held_ip_unassigned(name)
            snapshot = self.snapshot()
            if snapshot == previous and not errors:
                return round_no
            previous = snapshot
        raise AssertionError(f"no convergence in {rounds} rounds: {previous}")

    def snapshot(self) -> Any:
        out = {}
        for name in self.agents:
            try:
                out[name] = self.client.get(NODE_ENI_CONFIG, key(name)).get("status")
            except NotFoundError:
                out[name] = None
        return out

    def nec(self, name: str) -> NodeENIConfig:
        return NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, key(name)))

    def cloud_enis(self, instance: str) -> list[Any]:
        return [e for e in self.adapter.describe_enis(instance_id=instance) if not e.primary]  # type: ignore[arg-type]

    def check_no_held_ip_unassigned(self, name: str) -> None:
        agent = self.agents[name]
        if not agent.holding:
            return
        instance = NODES[name][1]
        cloud = {ip["PrivateIpAddress"] for e in self.emulator.snapshot()["networkInterfaces"]
                 if (e.get("Attachment") or {}).get("InstanceId") == instance for ip in e["PrivateIpAddressSet"]}
        for ip in agent.holding - cloud:
            self.violations.append(f"{name}: {ip} held by a pod but unassigned in the cloud")

    def events(self, reason: str) -> list[dict[str, Any]]:
        self.recorder.flush(5.0)
        return [e for e in self.client.list(EVENT, namespace="default") if e.get("reason") == reason]

    def assert_consistent(self, name: str) -> None:
        """NEC status == cloud == VpcENI/VpcIP objects for this node."""
        zone, instance = NODES[name]
        cloud = {e.id: e for e in self.cloud_enis(instance)}
        nec = self.nec(name)
        status_enis = {e.eni_id: e for e in nec.status.enis}
        assert set(status_enis) == set(cloud), (status_enis.keys(), cloud.keys())
        for eni_id, entry in status_enis.items():
            eni = cloud[eni_id]
            assert entry.mac == eni.mac and entry.primary_ip == eni.primary_ip and entry.subnet_id == eni.subnet_id
            assert entry.subnet_cidr and entry.gateway
            assert sorted(ip.ip for ip in entry.ips) == sorted(ip.address for ip in eni.secondary_ips)
        venis = {o["metadata"]["name"] for o in self.client.list(VPC_ENI)
                 if o["spec"].get("nodeName") == name}
        assert venis == set(cloud)
        vips = {o["metadata"]["name"] for o in self.client.list(VPC_IP) if o["spec"].get("nodeName") == name}
        assert vips == {ip.address for e in cloud.values() for ip in e.secondary_ips}


def _config_values(config: PoolConfig) -> dict[str, Any]:
    return {f: getattr(config, f) for f in PoolConfig.__dataclass_fields__}


def make_reconciler(cluster: Cluster) -> NodeReconciler:
    return NodeReconciler(client=cluster.client, reader=cluster.client, vpc=cluster.adapter, config=cluster.config,
                          recorder=cluster.recorder, metrics=IpamdMetrics(cluster.registry), clock=cluster.clock)


@pytest.fixture
def emulator_world() -> World:
    return World.default()


@pytest.fixture
def make_cluster(apiserver: FakeApiServer, emulator_world: World) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []
    emulators: list[Emulator] = []

    def make(**config: Any) -> Cluster:
        emu = Emulator(world=emulator_world, secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0, seed=7)
        emulators.append(emu)
        emu.start(host="127.0.0.1", port=0)
        client = KubeClient.from_api_client(apiserver.api_client(), qps=5000, burst=5000)
        install_crds(client)
        # No exclusive ENIs unless a test asks for them: the shared-ENI tests count the VPC's ENIs.
        values: dict[str, Any] = {"subnet_ids": ALL_SUBNETS, "ip_warm": WarmTargets(min=5, max=5),
                                  "eni_warm": WarmTargets(min=0, max=0), "release_interval": 120.0}
        values.update(config)
        cluster = Cluster(
            apiserver=apiserver, emulator=emu, client=client, clock=FakeClock(), registry=CollectorRegistry(),
            recorder=EventRecorder(client, component="tke-eni-ipamd"),
            adapter=TencentVpc.from_settings(adapter_settings(emu), Credentials(SECRET_ID, SECRET_KEY),
                                             registry=CollectorRegistry()),
            config=PoolConfig(**values), reconciler=None,  # type: ignore[arg-type]
        )
        cluster.reconciler = make_reconciler(cluster)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.recorder.close(2.0)
        for emu in emulators:
            emu.stop()
