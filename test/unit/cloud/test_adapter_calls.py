"""TencentVpc over the real SDK with HTTP stubbed: error typing, retries, metrics, bad replies."""

from __future__ import annotations

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from eni.cloud import errors
from eni.cloud.interfaces import VpcApi
from eni.cloud.tencent import TencentVpc
from eni.cloud.tencent.errormap import to_cloud_error
from eni.cloud.tencent.metrics import outcome_label
from eni.cloud.types import EniId, InstanceId, SubnetId

LIMITS = {"EniQuantity": 4, "EniPrivateIpAddressQuantity": 10, "ExtendEniQuantity": 0,
          "ExtendEniPrivateIpAddressQuantity": 0}


def sample(registry_value: TencentVpc, name: str, **labels: str) -> float:
    value = registry_value.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_adapter_conforms_to_protocol(make_vpc, replies, clock) -> None:
    vpc, _ = make_vpc(lambda a, p: {})
    _: VpcApi = vpc


def test_request_is_signed_for_the_right_service_and_region(make_vpc, replies, clock) -> None:
    vpc, stub = make_vpc(lambda a, p: LIMITS)
    vpc.describe_eni_limits(InstanceId("ins-1"))
    headers = stub.headers[0]
    assert headers["X-TC-Action"] == "DescribeNetworkInterfaceLimit"
    assert headers["X-TC-Version"] == "2017-03-12" and headers["X-TC-Region"] == "ap-guangzhou"
    assert "/vpc/tc3_request" in headers["Authorization"] and "unit-secret-key" not in headers["Authorization"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [("LimitExceeded", errors.QuotaExceeded), ("ResourceNotFound", errors.NotFound),
     ("AuthFailure.SignatureFailure", errors.AuthFailed), ("InvalidParameterValue.Range", errors.InvalidRequest)],
)
def test_error_reply_becomes_typed_error_without_retry(make_vpc, replies, clock, code, expected) -> None:
    vpc, stub = make_vpc(lambda a, p: replies.error(code, "nope"))
    with pytest.raises(expected) as caught:
        vpc.describe_eni_limits(InstanceId("ins-1"))
    assert caught.value.code == code and caught.value.request_id == "req-1"
    assert isinstance(caught.value.__cause__, TencentCloudSDKException)
    assert len(stub.calls) == 1
    outcome = outcome_label(caught.value)
    assert sample(vpc, "eni_cloud_api_calls_total", action="DescribeNetworkInterfaceLimit", outcome=outcome) == 1


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "UnsupportedOperation.MutexOperationTaskRunning",
                                  "InternalError"])
def test_retryable_errors_are_retried_then_succeed(make_vpc, replies, clock, code) -> None:
    answers = iter([replies.error(code), replies.error(code), LIMITS])
    vpc, stub = make_vpc(lambda a, p: next(answers))
    limits = vpc.describe_eni_limits(InstanceId("ins-1"))
    assert limits.max_secondary_ips_per_eni == 9
    assert len(stub.calls) == 3
    assert len(clock.slept) == 2 and 0 < clock.slept[0] <= clock.slept[1] + 0.1
    assert sample(vpc, "eni_cloud_api_retries_total", action="DescribeNetworkInterfaceLimit") == 2
    throttled = 2 if code == "RequestLimitExceeded" else 0
    assert sample(vpc, "eni_cloud_api_throttles_total", action="DescribeNetworkInterfaceLimit",
                  source="server") == throttled
    failed = outcome_label(to_cloud_error(code, "refused", None))
    assert sample(vpc, "eni_cloud_api_calls_total", action="DescribeNetworkInterfaceLimit", outcome=failed) == 2
    assert sample(vpc, "eni_cloud_api_calls_total", action="DescribeNetworkInterfaceLimit", outcome="success") == 1
    # Every attempt is one latency observation, failed ones included.
    assert sample(vpc, "eni_cloud_api_call_duration_seconds_count", action="DescribeNetworkInterfaceLimit") == 3


def test_retry_budget_is_bounded(make_vpc, replies, clock) -> None:
    vpc, stub = make_vpc(lambda a, p: replies.error("RequestLimitExceeded"), retry_attempts=4)
    with pytest.raises(errors.Throttled):
        vpc.describe_eni_limits(InstanceId("ins-1"))
    assert len(stub.calls) == 4
    assert all(wait <= 1.0 + 0.1 for wait in clock.slept)


@pytest.mark.parametrize(
    "reply",
    [(b"<html>bad gateway</html>", 502, "text/html"),
     (b"not json at all", 200, "application/json"),
     (b'{"NoResponse": 1}', 200, "application/json"),
     None],
)
def test_garbage_and_network_failures_are_unavailable_and_retried(make_vpc, replies, reply) -> None:
    if reply is None:
        answer = requests.ConnectionError("connection refused")
    else:
        body, status, content_type = reply
        answer = replies.RawReply(body, status=status, content_type=content_type)
    vpc, stub = make_vpc(lambda a, p: answer, retry_attempts=2)
    with pytest.raises(errors.CloudUnavailable):
        vpc.describe_eni_limits(InstanceId("ins-1"))
    assert len(stub.calls) == 2


def test_reply_with_wrong_shape_is_unavailable(make_vpc, replies, clock) -> None:
    vpc, _ = make_vpc(lambda a, p: {"EniQuantity": "many"}, retry_attempts=1)
    with pytest.raises(errors.CloudUnavailable) as caught:
        vpc.describe_eni_limits(InstanceId("ins-1"))
    assert caught.value.code == "ClientSideBadReply"


def test_delete_retried_after_lost_reply_accepts_not_found(make_vpc, replies, clock) -> None:
    answers = iter([replies.error("InternalError"), replies.error("ResourceNotFound")])

    def handler(action, params):
        return replies.tasks_succeed(action, params) or next(answers)

    vpc, stub = make_vpc(handler)
    vpc.delete_eni(EniId("eni-1"))
    assert stub.actions() == ["DeleteNetworkInterface", "DeleteNetworkInterface"]


def test_delete_of_unknown_eni_on_first_attempt_raises(make_vpc, replies, clock) -> None:
    vpc, _ = make_vpc(lambda a, p: replies.error("ResourceNotFound"))
    with pytest.raises(errors.NotFound):
        vpc.delete_eni(EniId("eni-1"))


def test_describe_pages_through_all_results(make_vpc, replies, clock) -> None:
    subnets = [{"SubnetId": f"subnet-{i}", "CidrBlock": f"10.0.{i}.0/24", "Zone": "ap-guangzhou-3",
                "AvailableIpAddressCount": 200, "VpcId": "vpc-unit0001"} for i in range(230)]

    def handler(action, params):
        offset, limit = int(params["Offset"]), int(params["Limit"])
        return {"SubnetSet": subnets[offset: offset + limit], "TotalCount": len(subnets)}

    vpc, stub = make_vpc(handler)
    got = vpc.describe_subnets()
    assert [s.id for s in got] == [s["SubnetId"] for s in subnets]
    assert len(stub.calls) == 3
    assert stub.calls[0][1]["Filters"] == [{"Name": "vpc-id", "Values": ["vpc-unit0001"]}]
    assert got[5].gateway == "10.0.5.1"


def test_subnet_route_table_comes_from_the_reply(make_vpc, replies, clock) -> None:
    base = {"CidrBlock": "10.0.1.0/24", "Zone": "ap-guangzhou-3", "AvailableIpAddressCount": 250,
            "VpcId": "vpc-unit0001"}
    subnets = [{**base, "SubnetId": "subnet-1", "RouteTableId": "rtb-l2h8d7c2"}, {**base, "SubnetId": "subnet-2"}]
    vpc, _ = make_vpc(lambda a, p: {"SubnetSet": subnets, "TotalCount": 2})
    assert [s.route_table_id for s in vpc.describe_subnets()] == ["rtb-l2h8d7c2", ""]


def test_describe_is_cached_and_mutation_invalidates(make_vpc, replies, clock) -> None:
    def handler(action, params):
        if action == "DescribeSubnets":
            return {"SubnetSet": [{"SubnetId": "subnet-1", "CidrBlock": "10.0.1.0/24", "Zone": "z",
                                   "AvailableIpAddressCount": 5, "VpcId": "vpc-unit0001"}], "TotalCount": 1}
        if action == "AssignPrivateIpAddresses":
            return {"PrivateIpAddressSet": [{"PrivateIpAddress": "10.0.1.9", "Primary": False}]}
        return replies.tasks_succeed(action, params)

    vpc, stub = make_vpc(handler, describe_cache_ttl=5.0)
    vpc.describe_subnets([SubnetId("subnet-1")])
    vpc.describe_subnets([SubnetId("subnet-1")])
    assert stub.actions().count("DescribeSubnets") == 1
    clock.step(6)
    vpc.describe_subnets([SubnetId("subnet-1")])
    assert stub.actions().count("DescribeSubnets") == 2
    vpc.assign_private_ips(EniId("eni-1"), intent="x", count=1)
    vpc.describe_subnets([SubnetId("subnet-1")])
    assert stub.actions().count("DescribeSubnets") == 3


def test_describe_enis_refuses_ids_with_filters(make_vpc, replies, clock) -> None:
    vpc, stub = make_vpc(lambda a, p: {})
    with pytest.raises(ValueError):
        vpc.describe_enis(eni_ids=[EniId("eni-1")], instance_id=InstanceId("ins-1"))
    assert stub.calls == []


def test_describe_instances_fills_primary_eni(make_vpc, replies, clock) -> None:
    def handler(action, params):
        if action == "DescribeInstances":
            return {"TotalCount": 1, "InstanceSet": [{
                "InstanceId": "ins-1", "InstanceType": "S5.LARGE8", "CPU": 4, "Memory": 8,
                "Placement": {"Zone": "ap-guangzhou-3"}, "PrivateIpAddresses": ["10.0.1.4"],
                "VirtualPrivateCloud": {"VpcId": "vpc-unit0001", "SubnetId": "subnet-1"},
                "SecurityGroupIds": ["sg-1"]}]}
        assert params["Filters"] == [{"Name": "attachment.instance-id", "Values": ["ins-1"]}]
        return {"TotalCount": 1, "NetworkInterfaceSet": [{
            "NetworkInterfaceId": "eni-p", "MacAddress": "20:90:6F:00:00:01", "SubnetId": "subnet-1",
            "VpcId": "vpc-unit0001", "Primary": True, "State": "AVAILABLE", "AttachType": 0,
            "Attachment": {"InstanceId": "ins-1", "DeviceIndex": 0},
            "PrivateIpAddressSet": [{"PrivateIpAddress": "10.0.1.4", "Primary": True, "State": "AVAILABLE"}]}]}

    vpc, stub = make_vpc(handler)
    (instance,) = vpc.describe_instances([InstanceId("ins-1")])
    assert (instance.primary_eni_id, instance.primary_mac, instance.primary_ip) == ("eni-p", "20:90:6f:00:00:01",
                                                                                   "10.0.1.4")
    assert instance.cpu == 4 and instance.zone == "ap-guangzhou-3"
    assert stub.headers[0]["Authorization"].split("/")[2] == "cvm"


def test_unassign_and_release_retried_after_lost_reply_accept_not_found(make_vpc, replies) -> None:
    answers = iter([replies.error("InternalError"), replies.error("ResourceNotFound"),
                    replies.error("InternalError"), replies.error("InvalidAddressId.NotFound")])

    def handler(action, params):
        return replies.tasks_succeed(action, params) or next(answers)

    vpc, stub = make_vpc(handler)
    vpc.unassign_private_ips(EniId("eni-1"), ["10.0.1.7"])
    vpc.release_eips(["eip-1"])
    assert stub.actions() == ["UnassignPrivateIpAddresses"] * 2 + ["ReleaseAddresses"] * 2


def _eni_described(instance_id, state):
    return {"TotalCount": 1, "NetworkInterfaceSet": [{
        "NetworkInterfaceId": "eni-1", "MacAddress": "20:90:6f:00:00:02", "SubnetId": "subnet-1",
        "VpcId": "vpc-unit0001", "Primary": False, "State": state, "AttachType": 0,
        "Attachment": {"InstanceId": instance_id, "DeviceIndex": 1}, "PrivateIpAddressSet": []}]}


def test_attach_retried_after_lost_reply_waits_for_its_own_attachment(make_vpc, replies) -> None:
    answers = iter([replies.error("InternalError"), replies.error("UnsupportedOperation.AttachmentAlreadyExists"),
                    _eni_described("ins-1", "ATTACHING"), _eni_described("ins-1", "AVAILABLE")])
    vpc, stub = make_vpc(lambda action, params: next(answers))
    vpc.attach_eni(EniId("eni-1"), InstanceId("ins-1"))
    assert stub.actions() == ["AttachNetworkInterface"] * 2 + ["DescribeNetworkInterfaces"] * 2


def test_attach_retry_that_finds_another_instance_is_a_conflict(make_vpc, replies) -> None:
    answers = iter([replies.error("InternalError"), replies.error("UnsupportedOperation.AttachmentAlreadyExists"),
                    _eni_described("ins-other", "AVAILABLE")])
    vpc, _ = make_vpc(lambda action, params: next(answers))
    with pytest.raises(errors.Conflict) as caught:
        vpc.attach_eni(EniId("eni-1"), InstanceId("ins-1"))
    assert "ins-other" in caught.value.message


def test_client_side_throttle_is_counted_sends_nothing_and_is_retried(make_vpc, replies, clock) -> None:
    vpc, stub = make_vpc(lambda a, p: LIMITS, qps=1.0, burst=1, rate_limit_wait=0.2, retry_attempts=20)
    vpc.describe_eni_limits(InstanceId("ins-1"))
    vpc.describe_eni_limits(InstanceId("ins-2"))
    assert len(stub.calls) == 2  # refusals by the local bucket never reach the wire
    refused = sample(vpc, "eni_cloud_api_throttles_total", action="DescribeNetworkInterfaceLimit", source="client")
    assert refused >= 1
    assert sample(vpc, "eni_cloud_api_retries_total", action="DescribeNetworkInterfaceLimit") == refused
    assert sample(vpc, "eni_cloud_api_throttles_total", action="DescribeNetworkInterfaceLimit", source="server") == 0
