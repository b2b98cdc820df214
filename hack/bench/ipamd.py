"""Benchmarks of tke-eni-ipamd against the in-process emulator and fake API server (loopback only).

1. Cloud API calls per IP while one node (S5.2XLARGE16: 5 secondary ENIs x 19 IPs) grows from 0 to
   its cap of 95 IPs, counted by the emulator, against the lower bound: per ENI one create (carrying
   its first 9 IPs) and one attach, per 10 further IPs one assign, and one task poll for each of
   those asynchronous calls.
2. Time for N nodes (default 100) to reach their warm pools (5 IPs) through the real controllers
   (Manager, informers, work queue) with the emulator answering AttachNetworkInterface after a fixed
   latency and the adapter held to a cloud QPS budget, against the bound that budget sets:
   (cloud calls made) / QPS, and never less than one attach latency; and against the floor of four
   calls per node (create with the IPs, attach, a task poll for each).

3. Pool steps on one node (warm target 2, as the local cluster runs): the agent reports 2 more pods
   in use, and the time until 2 more Bound IPs are published is measured through the real controllers,
   with production adapter settings and the emulator finishing tasks in 50 ms.

Usage: .venv/bin/python hack/bench/ipamd.py [--nodes 100] [--attach-latency 2] [--qps 50] [--workers 32]
       [--only calls|warm|steps]
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from eni.api.v1 import (
    NODE_ENI_CONFIG,
    VPC_ENI,
    VPC_IP,
    AgentStatus,
    IPState,
    NodeENIConfig,
    VpcENI,
    VpcIP,
    agent_status_patch,
    crdgen,
)
from eni.api.v1.constants import (
    ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET,
    ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET,
    WarmTargets,
)
from eni.cloud.emulator import Emulator, World
from eni.cloud.interfaces import MAX_IPS_PER_CALL
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.growth import UNATTACHED_ENI_IPS
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.controllers.setup import IpamdConfig, add_ipamd_controllers
from eni.runtime.client.errors import AlreadyExistsError, ApiError
from eni.runtime.client.kube import KubeClient
from eni.runtime.events import EventRecorder
from eni.runtime.manager import Manager, ManagerSettings
from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION, NODE, ObjectKey
from eni.runtime.reconcile import Request
from eni.runtime.testing.apiserver import FakeApiServer

SECRET_ID, SECRET_KEY = "AKIDbenchmark00001", "benchmark-secret"
SUBNETS = ("subnet-gz3a0001", "subnet-gz3b0002", "subnet-gz4a0003", "subnet-gz4b0004")
MUTATIONS = ("CreateNetworkInterface", "AttachNetworkInterface", "AssignPrivateIpAddresses")


def adapter(emu: Emulator, **overrides: Any) -> TencentVpc:
    values: dict[str, Any] = {"qps": 10_000.0, "burst": 1000, "default_action_qps": 10_000.0,
                              "describe_cache_ttl": 0.0, "task_poll_interval": 0.05, **overrides}
    settings = TencentSettings(region=emu.region, cluster_id="cls-bench", vpc_id=emu.world.vpc_id,
                               endpoint=emu.endpoint, **values)
    return TencentVpc.from_settings(settings, Credentials(SECRET_ID, SECRET_KEY), registry=CollectorRegistry())


def install_crds(client: KubeClient) -> None:
    for kind_class in (NodeENIConfig, VpcENI, VpcIP):
        try:
            client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(kind_class))
        except AlreadyExistsError:
            pass
    for kind in (NODE_ENI_CONFIG, VPC_ENI, VPC_IP):
        for _ in range(200):
            try:
                client.list(kind)
                break
            except ApiError:
                time.sleep(0.05)


def add_node(client: KubeClient, name: str, zone: str, instance: str, annotations: dict[str, str]) -> None:
    client.create(NODE, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                         "spec": {"providerID": f"qcloud:///{zone}/{instance}"}})
    if annotations:
        client.create(NODE_ENI_CONFIG, {"apiVersion": NODE_ENI_CONFIG.api_version, "kind": "NodeENIConfig",
                                        "metadata": {"name": name, "annotations": annotations},
                                        "spec": {"instanceId": instance, "zone": zone}})


def bound_ips(client: KubeClient, name: str) -> int:
    try:
        return len(NodeENIConfig.from_dict(client.get(NODE_ENI_CONFIG, ObjectKey(namespace="", name=name)))
                   .status.ips_in_state(IPState.BOUND))
    except ApiError:
        return 0


def calls_per_ip(server: FakeApiServer) -> None:
    with Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.02) as emu:
        emu.start()
        client = KubeClient.from_api_client(server.api_client(), qps=5000, burst=5000)
        install_crds(client)
        cap, enis, per_eni = 95, 5, 19
        add_node(client, "grow", "ap-guangzhou-3", "ins-emu00002",
                 {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: str(cap), ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET: str(cap)})
        reconciler = NodeReconciler(client=client, reader=client, vpc=adapter(emu), config=PoolConfig(
            subnet_ids=SUBNETS), recorder=EventRecorder(client, component="bench"), metrics=IpamdMetrics())
        emu.calls.clear()
        rounds = 0
        while bound_ips(client, "grow") < cap and rounds < 20:
            reconciler.reconcile(Request(namespace="", name="grow"))
            rounds += 1
        counts = Counter(r.action for r in emu.calls.records())
        mutations = sum(counts[a] for a in MUTATIONS)
        polls = counts["DescribeVpcTaskResult"]
        total = sum(counts.values())
        # Each ENI is created with its first IPs (an unattached ENI holds at most UNATTACHED_ENI_IPS).
        floor_mutations = 2 * enis + enis * math.ceil(max(0, per_eni - UNATTACHED_ENI_IPS) / MAX_IPS_PER_CALL)
        floor = 2 * floor_mutations
        got = bound_ips(client, "grow")
        print(f"1. 0 -> {got} IPs on one node in {rounds} reconciles: {total} cloud calls = {total / got:.3f}/IP; "
              f"lower bound {floor} = {floor / got:.3f}/IP; ratio {total / floor:.2f}x")
        print(f"   mutations + task polls {mutations + polls} (ratio {(mutations + polls) / floor:.2f}x), "
              f"reads {total - mutations - polls}")
        print("   " + ", ".join(f"{a} {n}" for a, n in sorted(counts.items())))


def warm_pools(server: FakeApiServer, *, nodes: int, attach_latency: float, qps: float, workers: int) -> None:
    with Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.05) as emu:
        emu.start()
        names = []
        for i in range(nodes):
            zone = ("ap-guangzhou-3", "ap-guangzhou-4")[i % 2]
            instance = emu.add_instance(zone=zone, instance_type="S5.LARGE8")["InstanceId"]
            names.append((f"bench-{i:03d}", zone, instance))
        client = KubeClient.from_api_client(server.api_client(), qps=5000, burst=5000)
        install_crds(client)
        emu.faults.latency("AttachNetworkInterface", seconds=attach_latency)
        manager = Manager.for_api_client(server.api_client(), settings=ManagerSettings(health_port=None),
                                         qps=2000, burst=2000)
        # Production adapter settings (5 s describe cache, 0.5 s task polls), only the QPS budget set.
        settings = TencentSettings(region=emu.region, cluster_id="cls-bench", vpc_id=emu.world.vpc_id,
                                   endpoint=emu.endpoint, qps=qps, burst=max(1, int(qps / 5)))
        vpc = TencentVpc.from_settings(settings, Credentials(SECRET_ID, SECRET_KEY), registry=CollectorRegistry())
        add_ipamd_controllers(manager, vpc, IpamdConfig(pool=PoolConfig(subnet_ids=SUBNETS),
                                                         cluster_tags={"tke-clusterId": "cls-bench"},
                                                         workers=workers))
        stop = threading.Event()
        runner = threading.Thread(target=manager.start, args=(stop,), daemon=True)
        runner.start()
        emu.calls.clear()
        start = time.monotonic()
        for name, zone, instance in names:
            add_node(client, name, zone, instance, {})
        pending = {name for name, _, _ in names}
        while pending and time.monotonic() - start < 600:
            pending = {n for n in pending if bound_ips(client, n) < 5}
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        stop.set()
        runner.join(60)
        counts = Counter(r.action for r in emu.calls.records())
        total = sum(counts.values())
        bound = max(total / qps, attach_latency)
        # Fewest calls that can do it: create (with the IPs) and attach, one task poll each, per node.
        floor = max(nodes * 4 / qps, attach_latency)
        print(f"2. {nodes} nodes to 5 warm IPs each: {elapsed:.1f} s ({len(pending)} not done; attach latency "
              f"{attach_latency:g} s, {workers} workers)")
        print(f"   {total} cloud calls made; at {qps:g} QPS they take {bound:.1f} s: ratio {elapsed / bound:.2f}x; "
              f"the 4-calls-per-node floor is {floor:.1f} s: ratio {elapsed / floor:.2f}x")
        print("   " + ", ".join(f"{a} {n}" for a, n in sorted(counts.items())))


def pool_steps(server: FakeApiServer, *, steps: int = 12) -> None:
    with Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.05) as emu:
        emu.start()
        client = KubeClient.from_api_client(server.api_client(), qps=5000, burst=5000)
        install_crds(client)
        manager = Manager.for_api_client(server.api_client(), settings=ManagerSettings(health_port=None),
                                         qps=2000, burst=2000)
        settings = TencentSettings(region=emu.region, cluster_id="cls-bench", vpc_id=emu.world.vpc_id,
                                   endpoint=emu.endpoint)
        vpc = TencentVpc.from_settings(settings, Credentials(SECRET_ID, SECRET_KEY), registry=CollectorRegistry())
        add_ipamd_controllers(manager, vpc, IpamdConfig(pool=PoolConfig(subnet_ids=SUBNETS,
                                                                         ip_warm=WarmTargets(min=2, max=6)),
                                                         cluster_tags={"tke-clusterId": "cls-bench"}))
        stop = threading.Event()
        runner = threading.Thread(target=manager.start, args=(stop,), daemon=True)
        runner.start()
        start = time.monotonic()
        add_node(client, "steps", "ap-guangzhou-3", "ins-emu00002", {})
        while bound_ips(client, "steps") < 2 and time.monotonic() - start < 60:
            time.sleep(0.01)
        first = time.monotonic() - start
        durations = []
        for step in range(1, steps + 1):
            nec = NodeENIConfig.from_dict(client.get(NODE_ENI_CONFIG, ObjectKey(namespace="", name="steps")))
            held = sorted(nec.status.ips_in_state(IPState.BOUND))[: 2 * step]
            began = time.monotonic()
            client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name="steps"), agent_status_patch(
                AgentStatus(in_use_ips=tuple(held), heartbeat_time=datetime.now(UTC))), subresource="status")
            while bound_ips(client, "steps") < 2 * step + 2 and time.monotonic() - began < 60:
                time.sleep(0.01)
            durations.append(time.monotonic() - began)
        stop.set()
        runner.join(60)
        durations.sort()
        print(f"3. first pool of 2 on a new node: {first:.2f} s; {steps} steps of +2 pods: median "
              f"{durations[len(durations) // 2]:.2f} s, max {durations[-1]:.2f} s (max includes new ENIs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--attach-latency", type=float, default=2.0)
    parser.add_argument("--qps", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--only", choices=["calls", "warm", "steps"], default=None)
    args = parser.parse_args()
    for part in ("calls", "warm", "steps"):
        if args.only not in (None, part):
            continue
        server = FakeApiServer(bookmark_interval=1.0)
        server.start()
        try:
            if part == "calls":
                calls_per_ip(server)
            elif part == "steps":
                pool_steps(server)
            else:
                warm_pools(server, nodes=args.nodes, attach_latency=args.attach_latency, qps=args.qps,
                           workers=args.workers)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
