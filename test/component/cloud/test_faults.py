"""Injected faults: throttling, internal errors, dropped connections and failed tasks."""

from __future__ import annotations

import pytest

from eni.cloud import errors
from eni.cloud.types import InstanceId, SubnetId

SUBNET = SubnetId("subnet-gz3a0001")


def sample(vpc, name, **labels) -> float:
    return vpc.metrics.registry.get_sample_value(name, labels) or 0.0


def test_throttled_calls_back_off_and_complete(vpc, emulator) -> None:
    emulator.faults.throttle("DescribeSubnets", probability=0.3)
    for _ in range(20):
        assert len(vpc.describe_subnets()) == 4
    throttled = emulator.calls.count("DescribeSubnets", outcome="RequestLimitExceeded")
    assert throttled >= 1
    assert sample(vpc, "eni_cloud_api_throttles_total", action="DescribeSubnets", source="server") == throttled
    assert sample(vpc, "eni_cloud_api_retries_total", action="DescribeSubnets") == throttled
    assert sample(vpc, "eni_cloud_api_calls_total", action="DescribeSubnets", outcome="success") == 20


def test_qps_throttle_by_action_limited_code(make_adapter, emulator) -> None:
    # Enough backoff to outlast the server's one-second window.
    vpc = make_adapter(retry_max_backoff=0.5, retry_attempts=10)
    emulator.faults.throttle("DescribeSubnets", qps=5, code="LimitExceeded.ActionLimited")
    for _ in range(12):
        assert vpc.describe_subnets([SUBNET])[0].id == SUBNET
    limited = emulator.calls.count("DescribeSubnets", outcome="LimitExceeded.ActionLimited")
    assert limited >= 1
    assert emulator.calls.count("DescribeSubnets", outcome="ok") == 12


def test_internal_errors_and_dropped_connections_are_retried(vpc, emulator) -> None:
    emulator.faults.internal_error("CreateNetworkInterface", probability=0.3)
    emulator.faults.drop_connections("DescribeVpcTaskResult", probability=0.2)
    enis = [vpc.create_eni(intent=f"flaky-{i}", subnet_id=SUBNET, name=f"f{i}") for i in range(6)]
    assert len({e.id for e in enis}) == 6
    assert len([e for e in emulator.snapshot()["networkInterfaces"] if not e["Primary"]]) == 6
    failures = emulator.calls.count("CreateNetworkInterface", outcome="InternalError")
    failures += emulator.calls.count("DescribeVpcTaskResult", outcome="dropped")
    assert failures >= 1
    assert sample(vpc, "eni_cloud_api_retries_total", action="CreateNetworkInterface") == emulator.calls.count(
        "CreateNetworkInterface", outcome="InternalError")


def test_persistent_outage_exhausts_the_bounded_budget(make_adapter, emulator) -> None:
    vpc = make_adapter(retry_attempts=3)
    emulator.faults.internal_error(probability=1.0)
    with pytest.raises(errors.CloudUnavailable) as caught:
        vpc.describe_subnets()
    assert caught.value.code == "InternalError"
    assert emulator.calls.count("DescribeSubnets") == 3


def test_failed_task_becomes_task_failed_and_changes_nothing(vpc, emulator) -> None:
    eni = vpc.create_eni(intent="tf/eni", subnet_id=SUBNET, name="tf")
    vpc.attach_eni(eni.id, InstanceId("ins-emu00002"))
    emulator.faults.fail_tasks(next_n=1)
    with pytest.raises(errors.TaskFailed) as caught:
        vpc.assign_private_ips(eni.id, intent="tf/ips", count=3)
    assert caught.value.code == "FailedOperation.TaskFailed" and caught.value.request_id
    (raw,) = [e for e in emulator.snapshot()["networkInterfaces"] if e["NetworkInterfaceId"] == eni.id]
    assert len(raw["PrivateIpAddressSet"]) == 1


def test_garbage_from_the_server_side_is_typed(make_adapter, emulator) -> None:
    vpc = make_adapter(retry_attempts=2)
    emulator.faults.drop_connections("DescribeSubnets", probability=1.0)
    with pytest.raises(errors.CloudUnavailable):
        vpc.describe_subnets()
    assert emulator.calls.count("DescribeSubnets", outcome="dropped") == 2
