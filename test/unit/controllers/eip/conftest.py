"""A small world for the EIP reconciler: FakeClient, FakeVpc with one node's ENI and IPs, a FakeClock.

``world.pod(name, annotations, ip=...)`` creates a running pod on node-1 (with its IP in status);
``world.reconcile(name)`` runs one reconcile of ``default/<name>``; ``world.events`` records every Event.
"""

from __future__ import annotations

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
from eni.cloud.fake import FakeVpc
from eni.cloud.types import Eip, EniLimits, InstanceId, SubnetId
from eni.controllers.eip.claims import ClaimWriter
from eni.controllers.eip.cloud import EipCloud
from eni.controllers.eip.context import Deps
from eni.controllers.eip.metrics import EipMetrics
from eni.controllers.eip.reconciler import EipClaimReconciler
from eni.controllers.eip.settings import EipSettings
from eni.runtime.client.errors import NotFoundError
from eni.runtime.meta import POD, ObjectKey, ResourceKind
from eni.runtime.reconcile import Request, Result
from eni.runtime.testing import FakeClient, FakeClock

NODE = "node-1"
NAMESPACE = "default"


@dataclass
class RecordedEvent:
    kind: str
    name: str
    reason: str
    message: str
    type: str


@dataclass
class RecordingEvents:
    """An EventSink that keeps what it is given."""

    seen: list[RecordedEvent] = field(default_factory=list)

    def event(self, obj: Any, *, reason: str, message: str, type: str = "Normal",
              kind: ResourceKind | None = None) -> None:
        self.seen.append(RecordedEvent(kind.kind if kind else "", obj["metadata"]["name"], reason, message, type))

    def reasons(self, kind: str | None = None) -> list[str]:
        return [e.reason for e in self.seen if kind is None or e.kind == kind]


@dataclass
class World:
    client: FakeClient
    vpc: FakeVpc
    clock: FakeClock
    events: RecordingEvents
    metrics: EipMetrics
    settings: EipSettings
    reconciler: EipClaimReconciler
    eni_id: str
    ips: list[str]

    def pod(self, name: str, annotations: dict[str, str] | None = None, *, ip: str | None = None,
            owner: dict[str, Any] | None = None, host_network: bool = False) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "annotations": annotations or {}}
        if owner is not None:
            metadata["ownerReferences"] = [owner]
        spec: dict[str, Any] = {"nodeName": NODE, "containers": [{"name": "c", "image": "pause"}]}
        if host_network:
            spec["hostNetwork"] = True
        created = self.client.create(POD, {"metadata": metadata, "spec": spec})
        status: dict[str, Any] = {"phase": "Running"}
        if ip:
            status["podIP"] = ip
        created["status"] = status
        return self.client.update_status(POD, created)

    def delete_pod(self, name: str) -> None:
        self.client.delete(POD, ObjectKey(NAMESPACE, name))

    def reconcile(self, name: str) -> Result:
        return self.reconciler.reconcile(Request(namespace=NAMESPACE, name=name))

    def claim(self, name: str) -> EIPClaim | None:
        try:
            return EIPClaim.from_dict(self.client.get(EIP_CLAIM, ObjectKey(NAMESPACE, name)))
        except NotFoundError:
            return None

    def pod_annotations(self, name: str) -> dict[str, str]:
        return dict(self.client.get(POD, ObjectKey(NAMESPACE, name))["metadata"].get("annotations") or {})

    def eips(self) -> dict[str, Eip]:
        return {e.id: e for e in self.vpc.describe_eips()}

    def cloud_calls(self, method: str) -> int:
        return self.vpc.calls.count(method)


def make_world(**settings: Any) -> World:
    clock = FakeClock()
    client = FakeClient(now=clock.now)
    vpc = FakeVpc(eip_quota=settings.pop("eip_quota", 20))
    vpc.add_subnet("subnet-a0000001", "10.0.1.0/24", "ap-guangzhou-3")
    vpc.add_instance("ins-node0001", subnet_id="subnet-a0000001", limits=EniLimits(4, 10))
    eni = vpc.create_eni(intent="world/eni", subnet_id=SubnetId("subnet-a0000001"), name="node-1-eni")
    vpc.attach_eni(eni.id, InstanceId("ins-node0001"))
    ips = [p.address for p in vpc.assign_private_ips(eni.id, intent="world/ips", count=4)]
    nec = NodeENIConfig(metadata=ObjectMeta(name=NODE), spec=NodeENIConfigSpec(instance_id="ins-node0001"),
                        status=NodeENIConfigStatus(enis=(NodeENI(eni_id=eni.id, primary_ip=eni.primary_ip,
                                                                 ips=tuple(EniIP(ip=ip) for ip in ips)),)))
    stored = client.create(NODE_ENI_CONFIG, nec.to_dict())
    stored["status"] = nec.to_dict()["status"]
    client.update_status(NODE_ENI_CONFIG, stored)
    vpc.calls.clear()
    eip_settings = EipSettings(cluster_id="cls-unit", clock=clock, **settings)
    metrics = EipMetrics(CollectorRegistry())
    events = RecordingEvents()
    cloud = EipCloud(vpc, metrics=metrics, clock=clock, quota_retry_interval=eip_settings.quota_retry_interval)
    deps = Deps(reader=client, owners=client, writer=ClaimWriter(client), cloud=cloud, events=events,
                settings=eip_settings)
    return World(client, vpc, clock, events, metrics, eip_settings, EipClaimReconciler(deps), eni.id, ips)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def make() -> Any:
    """``make(**EipSettings overrides, eip_quota=N)``: a world with other settings."""
    return make_world


