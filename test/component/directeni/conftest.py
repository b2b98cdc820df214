"""Exclusive ENIs over real parts: the fake API server, the cloud emulator behind the real Tencent adapter,
the NodeReconciler (either mode) and the kept-ENI reclaimer, driven step by step with a fake clock, plus a
simulated node agent per node that plays the agent's side of the exclusive-ENI contract.

The agent simulator hands a pod only a Bound exclusive ENI (in static mode only the one whose ``pod`` names
it), never one it listed as released, and lists a Releasing ENI in ``releasedENIs`` only when no pod holds
it. ``Cluster.check`` records each time one ENI is held by two pods, a held ENI vanishes from the NEC, or a
held ENI is not attached to the pod's node (as an extension ENI) in the cloud.
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
    AgentStatus,
    EniType,
    IPState,
    NodeENI,
    NodeENIConfig,
    VpcENI,
    agent_status_patch,
)
from eni.api.v1.constants import ANNOTATION_NETWORKS, NETWORK_DIRECT_ENI, RESOURCE_DIRECT_ENI, WarmTargets
from eni.cloud.emulator import Emulator, World
from eni.cloud.emulator.world import InstanceSpec
from eni.cloud.tencent import TencentVpc
from eni.controllers.directeni.reclaim import KeptEniReclaimer, Reclaimed
from eni.controllers.eni.records import Records
from eni.controllers.gc.collector import GcReport, LeakCollector
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.controllers.static.claims import ClaimSettings
from eni.controllers.static.config import StaticConfig
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.kube import KubeClient
from eni.runtime.events import EventRecorder
from eni.runtime.meta import EVENT, NODE, POD, ObjectKey
from eni.runtime.reconcile import Request
from eni.runtime.testing import FakeClock
from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim.testbed import emulator_adapter, install_crds

SECRET_ID = "AKIDdirecteni0000001"
SECRET_KEY = "direct-eni-component-secret"
CLUSTER_ID = "cls-directeni"
NS = "default"
ZONE_3, ZONE_4 = "ap-guangzhou-3", "ap-guangzhou-4"
NODES = {"node-1": (ZONE_3, "ins-emu00001"), "node-2": (ZONE_3, "ins-emu00002"), "node-3": (ZONE_4, "ins-emu00003")}
DEFAULT_ENI_WARM = WarmTargets(min=1, max=1)
"""ipamd's defaults (--eni-min-warm-target 1 --eni-max-warm-target 1)."""
ALL_SUBNETS = ("subnet-gz3a0001", "subnet-gz3b0002", "subnet-gz4a0003", "subnet-gz4b0004")


def world() -> World:
    """The default region with instances that take exclusive ENIs: S5.LARGE8 has 4, S5.2XLARGE16 6."""
    base = World.default()
    return World(region=base.region, zones=base.zones, vpc_id=base.vpc_id, vpc_cidr=base.vpc_cidr,
                 subnets=base.subnets, security_groups=base.security_groups, instance_types=base.instance_types,
                 instances=(
                     InstanceSpec("ins-emu00001", "S5.LARGE8", ZONE_3, "subnet-gz3a0001", ("sg-emu00001",), "node-1"),
                     InstanceSpec("ins-emu00002", "S5.2XLARGE16", ZONE_3, "subnet-gz3a0001", ("sg-emu00001",),
                                  "node-2"),
                     InstanceSpec("ins-emu00003", "S5.LARGE8", ZONE_4, "subnet-gz4a0003", ("sg-emu00001",), "node-3"),
                 ))


def adapter(emu: Emulator) -> TencentVpc:
    return emulator_adapter(emu, cluster_id=CLUSTER_ID, secret_id=SECRET_ID, secret_key=SECRET_KEY)


def direct_pod(name: str, node: str, *, annotations: dict[str, str] | None = None,
               owner: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NS,
                                "annotations": {ANNOTATION_NETWORKS: NETWORK_DIRECT_ENI, **(annotations or {})}}
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    resources = {"requests": {RESOURCE_DIRECT_ENI: "1"}, "limits": {RESOURCE_DIRECT_ENI: "1"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause", "resources": resources}]},
            "status": {"phase": "Running"}}


@dataclass
class DirectAgentSim:
    """One node's agent, exclusive ENIs only. Non-static: ``want`` pods take any free ENI. Static: each live
    direct-ENI pod of the node takes the ENI reserved for it."""

    client: KubeClient
    node: str
    static: bool
    want: int = 0
    holding: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """eni id -> (namespace, name, uid) of the pod in whose namespace it is"""
    released: set[str] = field(default_factory=set)

    def step(self, pods: dict[tuple[str, str], str], violations: list[str]) -> None:
        try:
            status = NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, ObjectKey("", self.node))).status
        except NotFoundError:
            self.holding.clear()
            return
        entries = {e.eni_id: e for e in status.enis if e.type is EniType.DIRECT}
        for eni_id, who in self.holding.items():
            if eni_id not in entries:
                violations.append(f"{self.node}: {eni_id} held by {who} vanished from the NEC")
        if self.static:  # CNI DEL of pods that are gone or replaced, ADD of the new ones
            self.holding = {e: who for e, who in self.holding.items() if pods.get(who[:2]) == who[2]}
            waiting = sorted(k for k in pods if k not in {who[:2] for who in self.holding.values()})
        else:
            while len(self.holding) > self.want:
                self.holding.pop(max(self.holding))
            waiting = [(NS, f"pod-{i}") for i in range(self.want - len(self.holding))]
        self.released = {e for e in self.released if e in entries and entries[e].state is IPState.RELEASING}
        for key in waiting:
            for eni_id, entry in sorted(entries.items()):
                if self._may_take(key, eni_id, entry):
                    self.holding[eni_id] = (key[0], key[1], pods.get(key, ""))
                    break
        self.released |= {e for e, entry in entries.items() if entry.state is IPState.RELEASING
                          and e not in self.holding}
        agent = AgentStatus(in_use_enis=tuple(sorted(self.holding)), released_enis=tuple(sorted(self.released)),
                            heartbeat_time=datetime.now(UTC))
        if (status.agent.in_use_enis, status.agent.released_enis) != (agent.in_use_enis, agent.released_enis) \
                or status.agent.heartbeat_time is None:
            self.client.patch(NODE_ENI_CONFIG, ObjectKey("", self.node), agent_status_patch(agent),
                              subresource="status")

    def _may_take(self, key: tuple[str, str], eni_id: str, entry: NodeENI) -> bool:
        if entry.state is not IPState.BOUND or eni_id in self.holding or eni_id in self.released:
            return False
        if self.static:
            return entry.pod is not None and (entry.pod.namespace, entry.pod.name) == key
        return entry.pod is None


@dataclass
class Cluster:
    emulator: Emulator
    client: KubeClient
    clock: FakeClock
    recorder: EventRecorder
    config: PoolConfig
    claim_settings: ClaimSettings
    nodes: NodeReconciler = field(init=False)
    reclaimer: KeptEniReclaimer = field(init=False)
    agents: dict[str, DirectAgentSim] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new ipamd process: fresh adapter and reconciler memory, same cluster and cloud."""
        self.vpc = adapter(self.emulator)
        self.metrics = IpamdMetrics(CollectorRegistry())
        self.nodes = NodeReconciler(client=self.client, reader=self.client, vpc=self.vpc, config=self.config,
                                    recorder=self.recorder, metrics=self.metrics, clock=self.clock)
        self.reclaimer = KeptEniReclaimer(client=self.client, reader=self.client, vpc=self.vpc,
                                          settings=self.claim_settings, recheck=60.0,
                                          metrics=IpamdMetrics(CollectorRegistry()), recorder=self.recorder,
                                          clock=self.clock, static=self.static)

    @property
    def static(self) -> bool:
        return self.config.static is not None

    def add_node(self, name: str, *, annotations: dict[str, str] | None = None) -> None:
        zone, instance = NODES[name]
        self.client.create(NODE, {"apiVersion": "v1", "kind": "Node",
                                  "metadata": {"name": name, "annotations": annotations or {}},
                                  "spec": {"providerID": f"qcloud:///{zone}/{instance}"}})
        self.agents[name] = DirectAgentSim(self.client, name, static=self.static)

    def add_pod(self, name: str, node: str, **kwargs: Any) -> dict[str, Any]:
        return self.client.create(POD, direct_pod(name, node, **kwargs))

    def delete_pod(self, name: str) -> None:
        self.client.delete(POD, ObjectKey(NS, name))

    def pods(self) -> dict[tuple[str, str], str]:
        return {(p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"]["uid"]
                for p in self.client.list(POD)}

    def step(self) -> None:
        for node in self.agents:
            self.nodes.reconcile(Request(namespace="", name=node))
            on_node = {(p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"]["uid"]
                       for p in self.client.list(POD) if p["spec"].get("nodeName") == node}
            self.agents[node].step(on_node, self.violations)
        self.check()

    def converge(self, rounds: int = 30) -> int:
        previous: Any = None
        for round_no in range(rounds):
            self.step()
            snapshot = (self.snapshot(), sorted(o["metadata"]["name"] + str(o["spec"].get("nodeName"))
                                                for o in self.client.list(VPC_ENI)))
            if snapshot == previous:
                return round_no
            previous = snapshot
        raise AssertionError(f"no convergence in {rounds} rounds")

    def snapshot(self) -> Any:
        out = {}
        for name in self.agents:
            try:
                out[name] = self.client.get(NODE_ENI_CONFIG, ObjectKey("", name)).get("status")
            except NotFoundError:
                out[name] = None
        return out

    def check(self) -> None:
        """No ENI held twice; every held ENI is attached, as an extension ENI, to its holder's node."""
        attached = {e["NetworkInterfaceId"]: {**(e.get("Attachment") or {}), "AttachType": e.get("AttachType")}
                    for e in self.emulator.snapshot()["networkInterfaces"]}
        seen: dict[str, str] = {}
        for node, agent in self.agents.items():
            for eni_id, who in agent.holding.items():
                if eni_id in seen:
                    self.violations.append(f"{eni_id} held by {seen[eni_id]} and {node}/{who}")
                seen[eni_id] = f"{node}/{who}"
                where = attached.get(eni_id, {})
                if where.get("InstanceId") != NODES[node][1] or where.get("AttachType") != 1:
                    self.violations.append(f"{node}: {eni_id} held by {who} but attached as {where}")

    # ---- views --------------------------------------------------------------------------------------

    def nec(self, name: str) -> NodeENIConfig:
        return NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, ObjectKey("", name)))

    def direct(self, node: str, state: IPState | None = None) -> list[NodeENI]:
        return [e for e in self.nec(node).status.enis
                if e.type is EniType.DIRECT and (state is None or e.state is state)]

    def free(self, node: str) -> list[str]:
        held = set(self.agents[node].holding)
        return [e.eni_id for e in self.direct(node, IPState.BOUND) if e.eni_id not in held]

    def held_by(self, name: str) -> str | None:
        for agent in self.agents.values():
            for eni_id, who in agent.holding.items():
                if who[1] == name:
                    return eni_id
        return None

    def veni(self, eni_id: str) -> VpcENI | None:
        try:
            return next(VpcENI.from_dict(o) for o in self.client.list(VPC_ENI) if o["metadata"]["name"] == eni_id)
        except StopIteration:
            return None

    def cloud_eni(self, eni_id: str) -> dict[str, Any] | None:
        return next((e for e in self.emulator.snapshot()["networkInterfaces"] if e["NetworkInterfaceId"] == eni_id),
                    None)

    def cloud_direct(self, node: str) -> list[str]:
        """The ENIs the cloud shows attached to ``node``'s instance as extension (exclusive) ENIs."""
        instance = NODES[node][1]
        return sorted(e["NetworkInterfaceId"] for e in self.emulator.snapshot()["networkInterfaces"]
                      if (e.get("Attachment") or {}).get("InstanceId") == instance and e.get("AttachType") == 1)

    def reclaim(self) -> list[Reclaimed]:
        return self.reclaimer.reclaim_once()

    def collector(self, *, grace: float = 60.0) -> LeakCollector:
        return LeakCollector(vpc=self.vpc, records=Records(self.client), cluster_tags={"tke-clusterId": CLUSTER_ID},
                             interval=30.0, grace=grace, metrics=IpamdMetrics(CollectorRegistry()), clock=self.clock)

    def collect_garbage(self) -> GcReport:
        """Two GC passes a grace period apart (the first only notes suspects); returns the second's report."""
        gc = self.collector()
        gc.collect_once()
        self.clock.step(61.0)
        return gc.collect_once()

    def events(self, reason: str, *, namespace: str = NS) -> list[dict[str, Any]]:
        self.recorder.flush(5.0)
        return [e for e in self.client.list(EVENT, namespace=namespace) if e.get("reason") == reason]


@pytest.fixture
def make_cluster(apiserver: FakeApiServer) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(*, static: StaticConfig | None = None, claims: ClaimSettings | None = None,
             eni_warm: WarmTargets = DEFAULT_ENI_WARM, **config: Any) -> Cluster:
        emu = Emulator(world=world(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0, seed=13)
        emu.start(host="127.0.0.1", port=0)
        client = KubeClient.from_api_client(apiserver.api_client(), qps=5000, burst=5000)
        install_crds(client)
        claim_settings = claims or ClaimSettings()
        config.setdefault("ip_warm", WarmTargets(min=0, max=0))  # no shared ENIs unless a test asks for them
        pool = PoolConfig(subnet_ids=ALL_SUBNETS, eni_warm=eni_warm, static=static,
                          enable_ownerref=claim_settings.enable_ownerref, **config)
        cluster = Cluster(emulator=emu, client=client, clock=FakeClock(),
                          recorder=EventRecorder(client, component="tke-eni-ipamd"), config=pool,
                          claim_settings=claim_settings)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.recorder.close(2.0)
            cluster.emulator.stop()
