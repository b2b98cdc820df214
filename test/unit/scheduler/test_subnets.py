"""Subnet capacity from the cluster's objects, and from the cloud (FakeVpc) refreshed on a fake clock."""

import threading

from prometheus_client import CollectorRegistry

from eni.api.v1 import VPC_IP
from eni.cloud.errors import CloudUnavailable
from eni.cloud.fake import FakeVpc
from eni.cloud.types import SubnetId
from eni.runtime.testing import FakeClock
from eni.scheduler import CloudSubnets, ClusterSubnets
from eni.scheduler.subnets import addresses_in
from eni.scheduler.testing import vip


def test_cluster_subnets_derive_free_ips_from_cidr_and_use(cluster):
    snapshot = ClusterSubnets(cluster.index).snapshot()
    assert snapshot["subnet-a1"].free_ips == 253 - 18  # 2 route + 3 exclusive + 1 kept ENI, 12 VpcIPs
    assert snapshot["subnet-a2"].free_ips == 0
    assert (snapshot["subnet-b1"].zone, snapshot["subnet-b1"].free_ips) == ("ap-guangzhou-4", 253 - 4)
    assert addresses_in("10.0.2.0/28") == 13 and addresses_in("10.0.0.0/31") == 0


def test_cluster_subnets_follow_changes_and_reuse_unchanged_snapshots(cluster):
    subnets = ClusterSubnets(cluster.index)
    first = subnets.snapshot()
    assert subnets.snapshot() is first
    cluster.change(VPC_IP, vip("10.1.1.99", subnet_id="subnet-b1"), action="create",
                   until=lambda: subnets.snapshot()["subnet-b1"].free_ips == 253 - 5)


class Failing(FakeVpc):
    def __init__(self):
        super().__init__()
        self.fail = False

    def describe_subnets(self, subnet_ids=None, *, vpc_id=None, zone=None):
        if self.fail:
            raise CloudUnavailable("InternalError", "try later", "req-1")
        return super().describe_subnets(subnet_ids, vpc_id=vpc_id, zone=zone)


def test_cloud_counts_win_and_are_lowered_by_what_the_cluster_took_since(cluster):
    vpc = Failing()
    vpc.add_subnet("subnet-a1", "10.0.1.0/24", "ap-guangzhou-3")
    vpc.add_subnet("subnet-b1", "10.1.1.0/24", "ap-guangzhou-4")
    # something outside the cluster uses 150 addresses of subnet-b1
    for i in range(150):
        vpc.create_eni(intent=f"outsider-{i}", subnet_id=SubnetId("subnet-b1"), name="outsider")
    registry = CollectorRegistry()
    subnets = CloudSubnets(vpc, cluster.index, interval=30, registry=registry)
    assert registry.get_sample_value("eni_scheduler_subnets_refresh_age_seconds") == -1
    assert subnets.snapshot()["subnet-b1"].free_ips == 253 - 4  # not refreshed yet: the cluster's view
    assert subnets.refresh()
    cloud_free = vpc.describe_subnets([SubnetId("subnet-b1")])[0].available_ip_count
    snapshot = subnets.snapshot()
    assert snapshot["subnet-b1"].free_ips == cloud_free == 253 - 150
    assert snapshot["subnet-a2"].free_ips == 0  # the cloud does not know it: the cluster's view stays
    cluster.change(VPC_IP, vip("10.1.1.98", subnet_id="subnet-b1"), action="create",
                   until=lambda: subnets.snapshot()["subnet-b1"].free_ips == cloud_free - 1)
    vpc.fail = True
    assert not subnets.refresh() and "CloudUnavailable" in subnets.last_error
    assert registry.get_sample_value("eni_scheduler_subnets_refresh_failures_total") == 1.0
    assert registry.get_sample_value("eni_scheduler_subnets_refresh_age_seconds") >= 0
    assert subnets.snapshot()["subnet-b1"].free_ips == cloud_free - 1  # the last counts are kept


def test_refresh_asks_only_for_the_subnets_the_cluster_mentions(cluster):
    vpc = FakeVpc()
    vpc.add_subnet("subnet-b1", "10.1.1.0/24", "ap-guangzhou-4")
    asked = []
    vpc.interceptor = lambda method, arguments: asked.append(method)
    real = vpc.describe_subnets

    def spy(subnet_ids=None, **kwargs):
        asked.append(tuple(subnet_ids))
        return real(subnet_ids, **kwargs)

    vpc.describe_subnets = spy
    CloudSubnets(vpc, cluster.index).refresh()
    assert ("subnet-a1", "subnet-a2", "subnet-b1") in asked


def test_the_refresh_loop_runs_every_interval_of_its_clock(cluster, wait_until):
    vpc = FakeVpc()
    vpc.add_subnet("subnet-b1", "10.1.1.0/24", "ap-guangzhou-4")
    clock = FakeClock()
    subnets = CloudSubnets(vpc, cluster.index, interval=30, clock=clock)
    stop = threading.Event()
    loop = threading.Thread(target=subnets.run, args=(stop,), daemon=True)
    loop.start()
    clock.wait_for_waiters(1)
    assert vpc.calls.count("describe_subnets") == 1 and subnets.last_success == clock.monotonic()
    clock.step(29)
    assert vpc.calls.count("describe_subnets") == 1
    clock.step(1)
    wait_until(lambda: vpc.calls.count("describe_subnets") == 2)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()

