"""The release handshake under random interleavings: pods come and go, the agent reports late or
not at all for a while, ipamd is killed before random cloud calls and restarted, the release tick
fires at random. Whatever happens, no IP a pod holds is ever unassigned and nothing leaks.

In-memory doubles with real behaviour (FakeClient, FakeVpc, FakeClock) keep thousands of steps fast.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, AgentStatus, IPState, NodeENIConfig, agent_status_patch
from eni.api.v1.constants import WarmTargets
from eni.cloud.fake import FakeVpc
from eni.cloud.types import EniLimits, InstanceId
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.runtime.client.errors import NotFoundError
from eni.runtime.events import EventRecorder
from eni.runtime.meta import NODE, ObjectKey
from eni.runtime.reconcile import Request
from eni.runtime.testing import FakeClient, FakeClock

NODE_NAME, INSTANCE, ZONE = "node-a", "ins-a1", "ap-guangzhou-3"
KEY = ObjectKey(namespace="", name=NODE_NAME)


class Crash(BaseException):
    """ipamd dies before a cloud call."""


@dataclass
class Agent:
    client: FakeClient
    rng: random.Random
    want: int = 0
    holding: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)

    def step(self) -> None:
        try:
            status = NodeENIConfig.from_dict(self.client.get(NODE_ENI_CONFIG, KEY)).status
        except NotFoundError:
            return
        bound, releasing = set(status.ips_in_state(IPState.BOUND)), set(status.ips_in_state(IPState.RELEASING))
        self.released &= releasing
        while len(self.holding) > self.want:
            self.holding.remove(self.rng.choice(sorted(self.holding)))
        free = sorted(bound - self.holding - self.released)
        self.rng.shuffle(free)
        while len(self.holding) < self.want and free:
            self.holding.add(free.pop())
        self.released |= releasing - self.holding
        report = AgentStatus(in_use_ips=tuple(sorted(self.holding)), released_ips=tuple(sorted(self.released)),
                             heartbeat_time=datetime.now(UTC))
        self.client.patch(NODE_ENI_CONFIG, KEY, agent_status_patch(report), subresource="status")


def make_reconciler(client: FakeClient, vpc: FakeVpc, clock: FakeClock) -> NodeReconciler:
    config = PoolConfig(subnet_ids=("subnet-a", "subnet-b"), ip_warm=WarmTargets(min=2, max=4), release_interval=60.0)
    return NodeReconciler(client=client, reader=client, vpc=vpc, config=config,
                          recorder=EventRecorder(client, component="test"), metrics=IpamdMetrics(), clock=clock)


def assigned(vpc: FakeVpc) -> set[str]:
    return {ip.address for eni in vpc.describe_enis(instance_id=InstanceId(INSTANCE)) for ip in eni.private_ips}


@pytest.mark.parametrize("seed", range(12))
def test_no_interleaving_unassigns_a_held_ip(seed):
    rng = random.Random(seed)
    client, vpc, clock = FakeClient(), FakeVpc(), FakeClock()
    vpc.add_subnet("subnet-a", "10.0.1.0/26", ZONE)
    vpc.add_subnet("subnet-b", "10.0.2.0/26", ZONE)
    vpc.add_instance(INSTANCE, subnet_id="subnet-a", limits=EniLimits(eni_quantity=4, eni_private_ip_quantity=6))
    client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME},
                         "spec": {"providerID": f"qcloud:///{ZONE}/{INSTANCE}"}})
    agent = Agent(client, rng)
    reconciler = make_reconciler(client, vpc, clock)
    crashes = 0
    for _ in range(200):
        action = rng.random()
        if action < 0.15:
            agent.want = rng.randint(0, 16)
        elif action < 0.45:
            agent.step()
        elif action < 0.55:
            clock.step(rng.choice([10.0, 60.0]))
        else:
            if rng.random() < 0.25:
                vpc.interceptor = _crash_before(rng.choice(["create_eni", "attach_eni", "assign_private_ips",
                                                            "unassign_private_ips", "detach_eni", "delete_eni"]))
            try:
                reconciler.reconcile(Request(namespace="", name=NODE_NAME))
            except Crash:
                crashes += 1
                reconciler = make_reconciler(client, vpc, clock)  # a new process, same cluster and cloud
            finally:
                vpc.interceptor = None
        held_but_gone = agent.holding - assigned(vpc)
        assert not held_but_gone, f"seed {seed}: {held_but_gone} unassigned while held"

    # Settle: the records and the status match the cloud again, nothing leaked.
    for _ in range(6):
        agent.step()
        clock.step(60.0)
        reconciler.reconcile(Request(namespace="", name=NODE_NAME))
    nec = NodeENIConfig.from_dict(client.get(NODE_ENI_CONFIG, KEY))
    published = set(nec.status.ips_in_state(IPState.BOUND)) | set(nec.status.ips_in_state(IPState.RELEASING))
    secondary = {ip.address for eni in vpc.describe_enis(instance_id=InstanceId(INSTANCE)) if not eni.primary
                 for ip in eni.secondary_ips}
    assert published == secondary
    assert agent.holding <= published


def _crash_before(method: str):
    def interceptor(name, arguments):
        if name == method:
            raise Crash(name)
    return interceptor
