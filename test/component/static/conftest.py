"""Static-IP mode over real parts: the fake API server, the cloud emulator behind the real Tencent
adapter, the NodeReconciler in static mode and the VpcIPClaim reconciler, driven step by step with a
fake clock, plus a simulated node agent per node that plays the agent's side of the static contract.

The agent simulator gives a pod only the Bound IP whose ``pod`` names it, never one it listed as
released, and lists a Releasing IP only when no pod holds it. ``Cluster.check`` records every time
one IP is held by two live pods, or a held IP is not assigned to that node in the cloud.
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
    VPC_IP,
    VPC_IP_CLAIM,
    AgentStatus,
    IPState,
    NodeENIConfig,
    VpcIPClaim,
    agent_status_patch,
)
from eni.api.v1.constants import RESOURCE_ENI_IP, WarmTargets
from eni.cloud.emulator import Emulator, World
from eni.cloud.errors import CloudError
from eni.cloud.tencent import TencentVpc
from eni.controllers.eni.records import Records
from eni.controllers.gc.collector import LeakCollector
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.controllers.static.claims import ClaimSettings, VpcIPClaimReconciler
from eni.controllers.static.config import StaticConfig
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.kube import KubeClient
from eni.runtime.events import EventRecorder
from eni.runtime.meta import EVENT, NODE, POD, ObjectKey
from eni.runtime.reconcile import Request
from eni.runtime.testing import FakeClock
from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim.testbed import LosingVpc, emulator_adapter, install_crds

SECRET_ID = "AKIDstaticcomponent1"
SECRET_KEY = "static-component-secret"
CLUSTER_ID = "cls-statictest"
NODES = {"node-1": ("ap-guangzhou-3", "ins-emu00001"), "node-2": ("ap-guangzhou-3", "ins-emu00002"),
         "node-3": ("ap-guangzhou-4", "ins-emu00003")}
ALL_SUBNETS = ("subnet-gz3a0001", "subnet-gz3b0002", "subnet-gz4a0003", "subnet-gz4b0004")
NS = "default"


def adapter(emu: Emulator) -> TencentVpc:
    return emulator_adapter(emu, cluster_id=CLUSTER_ID, secret_id=SECRET_ID, secret_key=SECRET_KEY)


def pod_manifest(name: str, node: str, *, uid_hint: str = "", annotations: dict[str, str] | None = None,
                 owner: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NS, "annotations": annotations or {}}
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause",
                                                       "resources": {"requests": {RESOURCE_ENI_IP: "1"},
                                                                     "limits": {RESOURCE_ENI_IP: "1"}}}]},
            "status": {"phase": "Running"}}


@dataclass
class StaticAgentSim:
    """One node's agent: holds the reserved IP of each live pod of the node, releases the rest."""

    client: KubeClient
    node: str
    holding: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """ip -> (namespace, name, pod uid)"""
    released: set[str] = field(default_factory=set)

    def step(self, pods: dict[tuple[str, str], tuple[str, str]], violations: list[str]) -> None:
        try:
            status = NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, ObjectKey("", self.node))).status
        except NotFoundError:
            self.holding.clear()
            return
        entries = {e.ip: e for eni in status.enis for e in eni.ips}
        here = {k: uid for k, (node, uid) in pods.items() if node == self.node}
        # CNI DEL of pods that are gone (or replaced by a new pod of the same name)
        self.holding = {ip: who for ip, who in self.holding.items() if here.get(who[:2]) == who[2]}
        for ip, who in self.holding.items():
            if ip not in entries:
                violations.append(f"{self.node}: {ip} held by {who} vanished from the NEC")
        self.released = {ip for ip in self.released if ip in entries and entries[ip].state is IPState.RELEASING}
        held_by = {who[:2] for who in self.holding.values()}
        for (namespace, name), uid in here.items():
            if (namespace, name) in held_by:
                continue
            for ip, entry in sorted(entries.items()):  # CNI ADD: only the IP reserved for this pod
                if (entry.state is IPState.BOUND and entry.pod is not None and ip not in self.holding
                        and ip not in self.released and (entry.pod.namespace, entry.pod.name) == (namespace, name)):
                    self.holding[ip] = (namespace, name, uid)
                    break
        self.released |= {ip for ip, e in entries.items() if e.state is IPState.RELEASING and ip not in self.holding}
        agent = AgentStatus(in_use_ips=tuple(sorted(self.holding)), released_ips=tuple(sorted(self.released)),
                            heartbeat_time=datetime.now(UTC))
        if (status.agent.in_use_ips, status.agent.released_ips) != (agent.in_use_ips, agent.released_ips) \
                or status.agent.heartbeat_time is None:
            self.client.patch(NODE_ENI_CONFIG, ObjectKey("", self.node), agent_status_patch(agent),
                              subresource="status")


@dataclass
class Cluster:
    emulator: Emulator
    client: KubeClient
    clock: FakeClock
    recorder: EventRecorder
    config: PoolConfig
    claim_settings: ClaimSettings
    nodes: NodeReconciler = field(init=False)
    claims: VpcIPClaimReconciler = field(init=False)
    agents: dict[str, StaticAgentSim] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new ipamd process: fresh adapter and reconciler memory, same cluster and cloud."""
        vpc = adapter(self.emulator)
        self.nodes = NodeReconciler(client=self.client, reader=self.client, vpc=vpc, config=self.config,
                                    recorder=self.recorder, metrics=IpamdMetrics(CollectorRegistry()),
                                    clock=self.clock)
        self.claims = VpcIPClaimReconciler(client=self.client, reader=self.client, recorder=self.recorder,
                                           settings=self.claim_settings, clock=self.clock)

    def use_vpc(self, vpc: Any) -> None:
        """Make every part of the node reconciler call the cloud through ``vpc``."""
        nodes = self.nodes
        nodes._vpc = vpc
        for part in (nodes._enis, nodes._ips, nodes._necs, nodes._sgs, nodes._static._static):
            part._vpc = vpc

    def lose_replies(self, method: str, error: CloudError, *, times: int) -> LosingVpc:
        losing = LosingVpc(self.nodes._vpc, method, error, times)
        self.use_vpc(losing)
        return losing

    def passes(self, rounds: int) -> list[str]:
        """Like ``step``, but a cloud error of a node's reconcile is kept (the work queue would retry it)."""
        errors: list[str] = []
        for _ in range(rounds):
            keys = {k for k in self.live_pods()} | {(c["metadata"]["namespace"], c["metadata"]["name"])
                                                    for c in self.client.list(VPC_IP_CLAIM)}
            for namespace, name in sorted(keys):
                self.claims.reconcile(Request(namespace=namespace, name=name))
            for node in self.agents:
                try:
                    self.nodes.reconcile(Request(namespace="", name=node))
                except CloudError as e:
                    errors.append(repr(e))
                self.agents[node].step(self.live_pods(), self.violations)
            self.check()
        return errors

    def collector(self, *, grace: float) -> LeakCollector:
        return LeakCollector(vpc=self.nodes._vpc, records=Records(self.client),
                             cluster_tags={"tke-clusterId": CLUSTER_ID}, interval=30.0, grace=grace,
                             metrics=IpamdMetrics(CollectorRegistry()), clock=self.clock)

    def add_node(self, name: str) -> None:
        zone, instance = NODES[name]
        self.client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                  "spec": {"providerID": f"qcloud:///{zone}/{instance}"}})
        self.agents[name] = StaticAgentSim(self.client, name)

    def add_pod(self, name: str, node: str, **kwargs: Any) -> dict[str, Any]:
        return self.client.create(POD, pod_manifest(name, node, **kwargs))

    def delete_pod(self, name: str) -> None:
        self.client.delete(POD, ObjectKey(NS, name))

    def live_pods(self) -> dict[tuple[str, str], tuple[str, str]]:
        return {(p["metadata"]["namespace"], p["metadata"]["name"]): (p["spec"]["nodeName"], p["metadata"]["uid"])
                for p in self.client.list(POD)}

    def step(self) -> None:
        keys = {k for k in self.live_pods()} | {(c["metadata"]["namespace"], c["metadata"]["name"])
                                                for c in self.client.list(VPC_IP_CLAIM)}
        for namespace, name in sorted(keys):
            self.claims.reconcile(Request(namespace=namespace, name=name))
        for node in self.agents:
            self.nodes.reconcile(Request(namespace="", name=node))
            self.agents[node].step(self.live_pods(), self.violations)
        self.check()

    def converge(self, rounds: int = 30) -> int:
        previous: Any = None
        for round_no in range(rounds):
            self.step()
            snapshot = (self.snapshot(), sorted(c.get("status", {}).get("ip", "") for c in
                                                self.client.list(VPC_IP_CLAIM)))
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
        """No IP held by two pods; every held IP is assigned to its node's ENIs in the cloud."""
        seen: dict[str, str] = {}
        assigned: dict[str, set[str]] = {}
        for e in self.emulator.snapshot()["networkInterfaces"]:
            instance = (e.get("Attachment") or {}).get("InstanceId")
            assigned.setdefault(instance, set()).update(ip["PrivateIpAddress"] for ip in e["PrivateIpAddressSet"])
        for node, agent in self.agents.items():
            for ip, who in agent.holding.items():
                if ip in seen:
                    self.violations.append(f"{ip} held by {seen[ip]} and {node}/{who}")
                seen[ip] = f"{node}/{who}"
                if ip not in assigned.get(NODES[node][1], set()):
                    self.violations.append(f"{node}: {ip} held by {who} but not assigned to the node")

    def held_ip(self, name: str) -> str | None:
        for agent in self.agents.values():
            for ip, who in agent.holding.items():
                if who[1] == name:
                    return ip
        return None

    def claim(self, name: str) -> VpcIPClaim | None:
        try:
            return VpcIPClaim.from_dict(self.client.get(VPC_IP_CLAIM, ObjectKey(NS, name)))
        except NotFoundError:
            return None

    def nodes_nec(self, name: str) -> NodeENIConfig:
        return NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, ObjectKey("", name)))

    def vpc_ips(self) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.client.list(VPC_IP)}

    def cloud_ips(self) -> set[str]:
        return {ip["PrivateIpAddress"] for e in self.emulator.snapshot()["networkInterfaces"]
                for ip in e["PrivateIpAddressSet"] if not ip.get("Primary")}

    def events(self, reason: str) -> list[dict[str, Any]]:
        self.recorder.flush(5.0)
        return [e for e in self.client.list(EVENT, namespace=NS) if e.get("reason") == reason]


@pytest.fixture
def make_cluster(apiserver: FakeApiServer) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(*, static: StaticConfig | None = None, claims: ClaimSettings | None = None,
             world: World | None = None) -> Cluster:
        emu = Emulator(world=world or World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0,
                       seed=11)
        emu.start(host="127.0.0.1", port=0)
        client = KubeClient.from_api_client(apiserver.api_client(), qps=5000, burst=5000)
        install_crds(client)
        config = PoolConfig(subnet_ids=ALL_SUBNETS, ip_warm=WarmTargets(min=0, max=0),
                            static=static or StaticConfig())
        cluster = Cluster(emulator=emu, client=client, clock=FakeClock(),
                          recorder=EventRecorder(client, component="tke-eni-ipamd"), config=config,
                          claim_settings=claims or ClaimSettings())
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.recorder.close(2.0)
            cluster.emulator.stop()
