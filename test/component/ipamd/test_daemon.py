"""The real tke-eni-ipamd daemon (wiring.start) against the fake API server and the emulator:
it runs, builds pools, and with two replicas only the leader writes; failover within the lease."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, VPC_IP_CLAIM, IPState, NodeENIConfig
from eni.api.v1.constants import RESOURCE_ENI_IP
from eni.runtime.client.errors import NotFoundError
from eni.runtime.client.kube import KubeClient
from eni.runtime.meta import LEASE, NODE, POD, ObjectKey
from tke_eni_ipamd import main as ipamd_main
from tke_eni_ipamd import wiring


def settings_for(monkeypatch, kubeconfig: Path, endpoint: str, identity: str, *extra: str):
    secret_id, secret_key = "AKIDipamdcomponent01", "ipamd-component-secret"  # the emulator's (conftest)
    captured = []
    monkeypatch.setattr(wiring, "start", lambda settings: captured.append(settings) or 0)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", secret_key)
    args = ["--kubeconfig", str(kubeconfig), "--region", "ap-guangzhou", "--vpc-id", "vpc-emu00001",
            "--cluster-id", "cls-daemon", "--cloud-endpoint", endpoint, "--subnets", "subnet-gz3a0001,subnet-gz4a0003",
            "--leader-elect-identity", identity, "--leader-elect-lease-duration", "2s",
            "--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "300ms",
            "--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0", "--log-format", "text",
            *extra]
    assert ipamd_main.main(args) == 0
    monkeypatch.undo()
    return captured[0]


class Replica:
    def __init__(self, settings) -> None:
        self.stop = threading.Event()
        self.status: int | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings) -> None:
        self.status = wiring.start(settings, stop=self.stop)

    def halt(self) -> int | None:
        self.stop.set()
        self.thread.join(30)
        return self.status


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def bound_ips(client: KubeClient, node: str) -> int:
    try:
        nec = NodeENIConfig.from_dict(client.get(NODE_ENI_CONFIG, ObjectKey(namespace="", name=node)))
    except NotFoundError:
        return 0
    return len(nec.status.ips_in_state(IPState.BOUND))


def holder(client: KubeClient) -> str:
    try:
        lease = client.get(LEASE, ObjectKey(namespace="kube-system", name="tke-eni-ipamd"))
    except NotFoundError:
        return ""
    return str(lease["spec"].get("holderIdentity") or "")


@pytest.fixture(autouse=True)
def keep_root_logging():
    """wiring.start configures the root logger; give the test runner its handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def world(apiserver, kubeconfig, make_cluster):
    cluster = make_cluster()  # CRDs, emulator
    cluster.client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                                 "spec": {"providerID": "qcloud:///ap-guangzhou-3/ins-emu00001"}})
    return cluster


def test_two_replicas_only_the_leader_writes_and_failover_is_within_the_lease(world, kubeconfig, monkeypatch):
    first = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "replica-a"))
    second = None
    try:
        wait_for(lambda: holder(world.client) == "replica-a")
        second = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "replica-b"))
        wait_for(lambda: bound_ips(world.client, "node-1") == 5)
        calls_before = len(world.emulator.calls)
        time.sleep(1.0)  # the follower is running all this time
        assert holder(world.client) == "replica-a"
        # The settled leader reads at most; the follower makes no call at all, so no mutation happened.
        mutations = [r for r in world.emulator.calls.records()[calls_before:] if not r.action.startswith("Describe")]
        assert mutations == []

        killed_at = time.monotonic()
        assert first.halt() == 0
        wait_for(lambda: holder(world.client) == "replica-b", timeout=10)
        # Lease duration plus retry periods, with slack for a machine shared with other test runs.
        assert time.monotonic() - killed_at < 2.0 + 2.5
        world.client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-3"},
                                   "spec": {"providerID": "qcloud:///ap-guangzhou-4/ins-emu00003"}})
        wait_for(lambda: bound_ips(world.client, "node-3") == 5)  # the new leader works
    finally:
        first.halt()
        if second is not None:
            assert second.halt() == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_losing_the_lease_exits_non_zero(world, kubeconfig, monkeypatch):
    port = free_port()
    replica = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "replica-a",
                                   "--metrics-bind-address", f"127.0.0.1:{port}"))
    try:
        wait_for(lambda: holder(world.client) == "replica-a")
        wait_for(lambda: bound_ips(world.client, "node-1") == 5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        assert 'tke_eni_node_bound_ips{node="node-1"} 5.0' in text
        lease = world.client.get(LEASE, ObjectKey(namespace="kube-system", name="tke-eni-ipamd"))
        lease["spec"]["holderIdentity"] = "intruder"
        lease["spec"]["leaseDurationSeconds"] = 60
        world.client.update(LEASE, lease)
        replica.thread.join(15)
        assert replica.status == 1
    finally:
        replica.halt()


def test_static_mode_claims_an_ip_per_pod_and_keeps_no_warm_pool(world, kubeconfig, monkeypatch):
    replica = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "r", "--mode", "static"))
    try:
        wait_for(lambda: holder(world.client) == "r")
        world.client.create(POD, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "pause", "resources": {
                "requests": {RESOURCE_ENI_IP: "1"}, "limits": {RESOURCE_ENI_IP: "1"}}}]},
            "status": {"phase": "Running"}})

        def reserved() -> list[tuple[str, str]]:
            try:
                nec = NodeENIConfig.from_dict(world.client.get(NODE_ENI_CONFIG, ObjectKey("", "node-1")))
            except NotFoundError:
                return []
            return [(e.ip, e.pod.name) for eni in nec.status.enis for e in eni.ips if e.pod is not None]

        entries = wait_for(reserved)
        claim = world.client.get(VPC_IP_CLAIM, ObjectKey("default", "web-0"))
        assert entries == [(claim["status"]["ip"], "web-0")]
        assert bound_ips(world.client, "node-1") == 1  # no warm pool
    finally:
        assert replica.halt() == 0


def test_enable_node_taint_taints_a_node_the_daemon_cannot_serve(world, kubeconfig, monkeypatch):
    taint_key = "tke.cloud.tencent.com/eni-ip-unavailable"
    world.client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-3"},
                               "spec": {"providerID": "qcloud:///ap-guangzhou-4/ins-emu00003"}})
    replica = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "r", "--enable-node-taint",
                                   "--subnets", "subnet-gz3a0001"))  # no subnet serves node-3's zone

    def node(name: str) -> dict:
        return world.client.get(NODE, ObjectKey(namespace="", name=name))

    try:
        wait_for(lambda: [t["key"] for t in node("node-3")["spec"].get("taints") or []] == [taint_key])
        wait_for(lambda: bound_ips(world.client, "node-1") == 5)
        wait_for(lambda: node("node-1")["metadata"].get("labels", {}).get(
            "tke.cloud.tencent.com/route-eni-subnet-ids") == "subnet-gz3a0001")
        assert not node("node-1")["spec"].get("taints")
    finally:
        assert replica.halt() == 0


def test_in_non_static_mode_the_daemon_deletes_an_eni_static_mode_kept(world, kubeconfig, monkeypatch):
    from eni.api.v1 import VPC_ENI, EniType, ObjectReference, VpcENIPhase
    from eni.api.v1.constants import ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
    from eni.cloud.types import SubnetId
    from eni.controllers.directeni.keep import ANNOTATION_KEPT_SINCE
    from eni.controllers.eni.records import Records

    # What static mode left behind: a detached exclusive ENI kept for the next pod named default/db-0.
    eni = world.adapter.create_eni(intent="kept-before-the-switch", subnet_id=SubnetId("subnet-gz3a0001"),
                                   name="node-1-direct-eni")
    records = Records(world.client)
    records.record_eni(eni, node="", instance_id="", phase=VpcENIPhase.DETACHED, eni_type=EniType.DIRECT,
                       owner_pod=ObjectReference(namespace="default", name="db-0"))
    records.patch_eni(eni.id, annotations={ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never",
                                           ANNOTATION_KEPT_SINCE: "2026-01-01T00:00:00Z"})
    replica = Replica(settings_for(monkeypatch, kubeconfig, world.emulator.endpoint, "r"))
    try:
        wait_for(lambda: all(o["metadata"]["name"] != eni.id for o in world.client.list(VPC_ENI)))
        assert not world.adapter.describe_enis(eni_ids=[eni.id])
    finally:
        assert replica.halt() == 0
