"""Benchmark of the Tencent adapter against the in-process emulator (real SDK, loopback HTTP).

1. Adapter overhead: the same describe call through the raw SDK client and through ``TencentVpc``
   (rate limiter, retry wrapper, error typing, metrics, conversion to dataclasses; caches off),
   interleaved in one run so both see the same machine load.
2. API calls to take one node (2-core S5.MEDIUM4: 3 secondary ENIs x 9 IPs) from 0 to 27 secondary
   IPs, counted by the emulator, against the lower bound implied by one task poll per asynchronous
   call and at most 10 IPs per Assign.

Usage: .venv/bin/python hack/bench/cloud_calls.py [--calls 300] [--task-delay 0.05]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312.vpc_client import VpcClient

from eni.cloud.emulator import Emulator, World
from eni.cloud.interfaces import MAX_IPS_PER_CALL
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.cloud.types import InstanceId, SubnetId

SECRET_ID, SECRET_KEY = "AKIDbenchmark00001", "benchmark-secret"
NODE = InstanceId("ins-emu00001")
SUBNET = SubnetId("subnet-gz3a0001")
ENIS, IPS_PER_ENI = 3, 9


def adapter(emu: Emulator, **overrides: float) -> TencentVpc:
    values: dict[str, Any] = {"qps": 10_000.0, "burst": 1000, "default_action_qps": 10_000.0, "describe_cache_ttl": 0.0,
              "task_poll_interval": 0.1, **overrides}
    settings = TencentSettings(region=emu.region, cluster_id="cls-bench", vpc_id=emu.world.vpc_id,
                               endpoint=emu.endpoint, **values)
    return TencentVpc.from_settings(settings, Credentials(SECRET_ID, SECRET_KEY), registry=CollectorRegistry())


def raw_client(emu: Emulator) -> VpcClient:
    http = HttpProfile(protocol="http", endpoint=emu.endpoint, reqTimeout=10)
    http.keepAlive = True
    client = VpcClient(Credential(SECRET_ID, SECRET_KEY), emu.region, ClientProfile(httpProfile=http))
    client.request.conn._session.trust_env = False
    return client


def overhead(emu: Emulator, calls: int) -> None:
    vpc, sdk = adapter(emu), raw_client(emu)
    params = {"SubnetIds": [SUBNET], "Offset": "0", "Limit": "100"}
    raw_times, adapter_times = [], []
    for _ in range(10):  # warm both connections
        sdk.call_json("DescribeSubnets", params)
        vpc.describe_subnets([SUBNET])
    for _ in range(calls):
        start = time.perf_counter()
        sdk.call_json("DescribeSubnets", params)
        raw_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        vpc.describe_subnets([SUBNET])
        adapter_times.append(time.perf_counter() - start)
    raw_ms, ad_ms = statistics.median(raw_times) * 1e3, statistics.median(adapter_times) * 1e3
    print(f"DescribeSubnets x{calls}, interleaved, median per call:")
    print(f"  raw SDK call_json      {raw_ms:7.3f} ms   (mean {statistics.fmean(raw_times) * 1e3:.3f})")
    print(f"  TencentVpc             {ad_ms:7.3f} ms   (mean {statistics.fmean(adapter_times) * 1e3:.3f})")
    print(f"  adapter overhead       {ad_ms - raw_ms:7.3f} ms per call ({(ad_ms / raw_ms - 1) * 100:.0f}%)")


def fill_node(emu: Emulator, *, poll_interval: float, fold_ips_into_create: bool) -> None:
    emu.reset()
    vpc = adapter(emu, task_poll_interval=poll_interval)
    start = time.perf_counter()
    for i in range(ENIS):
        count = IPS_PER_ENI if fold_ips_into_create else 0
        eni = vpc.create_eni(intent=f"bench/eni-{i}", subnet_id=SUBNET, name=f"bench-{i}", secondary_ip_count=count)
        vpc.attach_eni(eni.id, NODE)
        if not fold_ips_into_create:
            vpc.assign_private_ips(eni.id, intent=f"bench/eni-{i}/warm", count=IPS_PER_ENI)
    elapsed = time.perf_counter() - start
    assigned = sum(len(e.secondary_ips) for e in vpc.describe_enis(instance_id=NODE))
    counts = Counter(r.action for r in emu.calls.records())
    counts["DescribeNetworkInterfaces"] -= 1  # the check above
    total = sum(counts.values())
    assigns = 0 if fold_ips_into_create else ENIS * math.ceil(IPS_PER_ENI / MAX_IPS_PER_CALL)
    mutations = 2 * ENIS + assigns
    bound = 2 * mutations  # each asynchronous mutation needs at least one task poll
    how = "create carries the IPs" if fold_ips_into_create else "create, attach, assign"
    print(f"0 -> {assigned} IPs on {ENIS} ENIs ({how}; poll every {poll_interval * 1e3:.0f} ms, "
          f"task delay {emu.state.task_delay * 1e3:.0f} ms): {total} calls, lower bound {bound}, {elapsed:.2f} s")
    print("  " + ", ".join(f"{action} {n}" for action, n in sorted(counts.items()) if n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--task-delay", type=float, default=0.05)
    args = parser.parse_args()
    emu = Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=args.task_delay)
    emu.start(host="127.0.0.1", port=0)
    try:
        overhead(emu, args.calls)
        for interval in (0.02, 0.1):
            for fold in (False, True):
                fill_node(emu, poll_interval=interval, fold_ips_into_create=fold)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
