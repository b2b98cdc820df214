"""With --region, the program judges subnets by the cloud's free-IP counts (the Tencent emulator, real SDK).

The cluster's objects say subnet-gz3a0001 (a /28: 13 usable addresses) has only its one ENI in use, but
something outside the cluster took every remaining address; only DescribeSubnets can know that.
"""

from __future__ import annotations

import dataclasses

from eni.cloud.emulator import Emulator, World
from eni.cloud.emulator.world import SubnetSpec
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.cloud.types import SubnetId
from eni.scheduler.testing import EniLayout, nec, node, pod

SECRET_ID, SECRET_KEY = "AKIDschedulertest01", "scheduler-test-secret"
ZONE_3, ZONE_4 = "ap-guangzhou-3", "ap-guangzhou-4"


def test_cloud_counts_decide_when_the_cloud_is_configured(kube, run_program, wait_until):
    default = World.default()
    world = dataclasses.replace(default, instances=(), subnets=(
        SubnetSpec("subnet-gz3a0001", ZONE_3, "10.0.1.0/28"), SubnetSpec("subnet-gz4a0003", ZONE_4, "10.0.3.0/24")))
    emulator = Emulator(world=world, secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0, seed=3)
    emulator.start()
    try:
        outsider = TencentVpc.from_settings(
            TencentSettings(region="ap-guangzhou", cluster_id="cls-outsider", vpc_id=world.vpc_id,
                            endpoint=emulator.endpoint),
            Credentials(SECRET_ID, SECRET_KEY))
        for i, count in enumerate((9, 2)):  # 10 + 3 addresses: all 13 of the /28
            outsider.create_eni(intent=f"outsider-{i}", subnet_id=SubnetId("subnet-gz3a0001"), name="outsider",
                                secondary_ip_count=count)
        assert outsider.describe_subnets([SubnetId("subnet-gz3a0001")])[0].available_ip_count == 0

        for obj in (node("node-1", zone=ZONE_3), node("node-3", zone=ZONE_4),
                    nec("node-1", zone=ZONE_3, subnets=["subnet-gz3a0001"],
                        enis=[EniLayout("eni-1", "subnet-gz3a0001", "10.0.1.0/28")]),
                    nec("node-3", zone=ZONE_4, subnets=["subnet-gz4a0003"],
                        enis=[EniLayout("eni-3", "subnet-gz4a0003", "10.0.3.0/24")])):
            kube.create(obj)
        program = run_program("--region", "ap-guangzhou", "--cluster-id", "cls-sched1", "--cloud-endpoint",
                              emulator.endpoint, "--subnet-refresh-interval", "1s",
                              env={"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY})
        url = program.url_of("Serving the scheduler extender")

        def answer():
            return program.request("POST", url + "/filter", {"Pod": pod("app-1"), "NodeNames": ["node-1", "node-3"]})

        wait_until(lambda: answer()[1].get("NodeNames") == ["node-3"], message="the cloud's count was not used")
        assert answer()[1]["FailedNodes"] == {
            "node-1": "[ip-scheduler] InsufficientIPorENI: subnet-gz3a0001 has no free IP"}
        # refreshed in the background, every --subnet-refresh-interval, never per request
        before = emulator.calls.count("DescribeSubnets")
        for _ in range(20):
            answer()
        assert emulator.calls.count("DescribeSubnets") - before <= 3
        assert program.stop() == 0
    finally:
        emulator.stop()
