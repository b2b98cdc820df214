"""Mutations over the stubbed SDK: ClientTokens, batching, partial outcomes, task waits, tags, EIPs."""

from __future__ import annotations

import itertools

import pytest

from eni.cloud import errors
from eni.cloud.types import EipId, EniId, EniState, InstanceId, IpState, SubnetId


class IpCloud:
    """A tiny scripted VPC: assigns sequential IPs, answers tasks, can fail a given call number."""

    def __init__(self, replies, *, fail_call: int | None = None, fail_code: str = "LimitExceeded",
                 task_status=None) -> None:
        self.replies = replies
        self.next_ip = itertools.count(10)
        self.fail_call, self.fail_code = fail_call, fail_code
        self.mutations = 0
        self.task_status = task_status or (lambda request_id: "SUCCESS")
        self.request_ids: list[str] = []

    def __call__(self, action, params):
        if action == "DescribeVpcTaskResult":
            return {"Status": self.task_status(params["TaskId"]), "Output": "task output here"}
        if action == "DescribeTaskResult":
            return {"TaskId": params["TaskId"], "Result": "SUCCESS"}
        self.mutations += 1
        request_id = f"mut-{self.mutations}"
        self.request_ids.append(request_id)
        if self.fail_call == self.mutations:
            return {**self.replies.error(self.fail_code), "RequestId": request_id}
        if action == "AssignPrivateIpAddresses":
            if "PrivateIpAddresses" in params:
                ips = [spec["PrivateIpAddress"] for spec in params["PrivateIpAddresses"]]
            else:
                ips = [f"10.0.1.{next(self.next_ip)}" for _ in range(params["SecondaryPrivateIpAddressCount"])]
            return {"RequestId": request_id, "PrivateIpAddressSet": [
                {"PrivateIpAddress": ip, "Primary": False, "State": "PENDING"} for ip in ips]}
        if action == "CreateNetworkInterface":
            return {"RequestId": request_id, "NetworkInterface": {
                "NetworkInterfaceId": "eni-new", "MacAddress": "20:90:6F:AA:BB:CC", "SubnetId": params["SubnetId"],
                "VpcId": params["VpcId"], "State": "PENDING", "Primary": False, "TagSet": params["Tags"],
                "PrivateIpAddressSet": [{"PrivateIpAddress": "10.0.1.5", "Primary": True, "State": "PENDING"}]}}
        if action == "AllocateAddresses":
            return {"RequestId": request_id, "AddressSet": ["eip-1"], "TaskId": "777"}
        if action == "DescribeAddresses":
            return {"TotalCount": 1, "AddressSet": [{"AddressId": "eip-1", "AddressIp": "1.2.3.4",
                                                     "AddressStatus": "UNBIND", "Bandwidth": 100,
                                                     "InternetServiceProvider": "BGP"}]}
        return {"RequestId": request_id}


def mutation_calls(stub, action):
    return [params for name, params in stub.calls if name == action]


def test_create_eni_is_tagged_tokened_and_waited_for(make_vpc, replies) -> None:
    cloud = IpCloud(replies)
    vpc, stub = make_vpc(cloud)
    eni = vpc.create_eni(intent="node-a/eni-1", subnet_id=SubnetId("subnet-1"), name="tke-eni-1",
                         tags={"team": "net"})
    (params,) = mutation_calls(stub, "CreateNetworkInterface")
    assert params["VpcId"] == "vpc-unit0001" and len(params["ClientToken"]) <= 64
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    assert tags == {"team": "net", "tke-clusterId": "cls-unit", "tke-createdBy": "tke-eni-ipamd"}
    assert stub.calls[1] == ("DescribeVpcTaskResult", {"TaskId": "mut-1"})
    assert eni.state is EniState.AVAILABLE and eni.primary_ip == "10.0.1.5" and eni.mac == "20:90:6f:aa:bb:cc"
    assert all(ip.state is IpState.AVAILABLE for ip in eni.private_ips)


def test_same_intent_in_a_new_adapter_reuses_tokens(make_vpc, replies) -> None:
    tokens = []
    for _ in range(2):  # the second adapter stands for the process restarted after a crash
        vpc, stub = make_vpc(IpCloud(replies))
        vpc.create_eni(intent="node-a/eni-1", subnet_id=SubnetId("subnet-1"), name="n")
        vpc.assign_private_ips(EniId("eni-1"), intent="node-a/warm-7", count=3)
        vpc.allocate_eips(intent="pod ns/p uid-1")
        tokens.append([params.get("ClientToken") for _, params in stub.calls if "ClientToken" in params])
    assert len(tokens[0]) == 3 and tokens[0] == tokens[1]
    vpc, stub = make_vpc(IpCloud(replies))
    vpc.assign_private_ips(EniId("eni-1"), intent="node-a/warm-8", count=3)
    assert mutation_calls(stub, "AssignPrivateIpAddresses")[0]["ClientToken"] != tokens[0][1]


def test_assign_27_splits_into_10_10_7_each_waited(make_vpc, replies) -> None:
    cloud = IpCloud(replies)
    vpc, stub = make_vpc(cloud)
    ips = vpc.assign_private_ips(EniId("eni-1"), intent="warm", count=27)
    calls = mutation_calls(stub, "AssignPrivateIpAddresses")
    assert [c["SecondaryPrivateIpAddressCount"] for c in calls] == [10, 10, 7]
    assert len({c["ClientToken"] for c in calls}) == 3
    assert len(ips) == 27 and len({ip.address for ip in ips}) == 27
    assert all(ip.state is IpState.AVAILABLE for ip in ips)
    polls = [p["TaskId"] for p in mutation_calls(stub, "DescribeVpcTaskResult")]
    assert polls == ["mut-1", "mut-2", "mut-3"]
    assert stub.actions() == ["AssignPrivateIpAddresses", "DescribeVpcTaskResult"] * 3


def test_assign_by_addresses_splits_in_order(make_vpc, replies) -> None:
    vpc, stub = make_vpc(IpCloud(replies))
    wanted = [f"10.0.2.{i}" for i in range(1, 13)]
    ips = vpc.assign_private_ips(EniId("eni-1"), intent="static", addresses=wanted)
    sent = [[s["PrivateIpAddress"] for s in c["PrivateIpAddresses"]]
            for c in mutation_calls(stub, "AssignPrivateIpAddresses")]
    assert sent == [wanted[:10], wanted[10:]]
    assert [ip.address for ip in ips] == wanted


def test_later_batch_failure_reports_partial_outcome(make_vpc, replies) -> None:
    vpc, _ = make_vpc(IpCloud(replies, fail_call=2))
    with pytest.raises(errors.PartialOutcome) as caught:
        vpc.assign_private_ips(EniId("eni-1"), intent="warm", count=25)
    partial = caught.value
    assert partial.done == tuple(f"10.0.1.{i}" for i in range(10, 20))
    assert partial.not_done == 15
    assert isinstance(partial.cause, errors.QuotaExceeded) and partial.cause.request_id == "mut-2"
    assert partial.__cause__ is partial.cause and not partial.retryable


def test_first_batch_failure_is_the_plain_error(make_vpc, replies) -> None:
    vpc, _ = make_vpc(IpCloud(replies, fail_call=1, fail_code="ResourceInsufficient.Subnet"))
    with pytest.raises(errors.SubnetExhausted):
        vpc.assign_private_ips(EniId("eni-1"), intent="warm", count=25)


def test_unassign_partial_names_the_unassigned(make_vpc, replies) -> None:
    vpc, stub = make_vpc(IpCloud(replies, fail_call=2, fail_code="InvalidParameterValue.Range"))
    addresses = [f"10.0.3.{i}" for i in range(1, 16)]
    with pytest.raises(errors.PartialOutcome) as caught:
        vpc.unassign_private_ips(EniId("eni-1"), addresses)
    assert caught.value.done == tuple(addresses[:10]) and caught.value.not_done == tuple(addresses[10:])
    assert isinstance(caught.value.cause, errors.InvalidRequest)


def test_failed_task_raises_task_failed_with_output(make_vpc, replies) -> None:
    vpc, _ = make_vpc(IpCloud(replies, task_status=lambda _: "FAILED"))
    with pytest.raises(errors.TaskFailed) as caught:
        vpc.attach_eni(EniId("eni-1"), InstanceId("ins-1"))
    assert caught.value.output == "task output here" and caught.value.request_id == "mut-1"


def test_running_task_is_polled_until_done(make_vpc, replies, clock) -> None:
    statuses = iter(["RUNNING", "RUNNING", "SUCCESS"])
    vpc, stub = make_vpc(IpCloud(replies, task_status=lambda _: next(statuses)))
    vpc.delete_eni(EniId("eni-1"))
    assert stub.actions().count("DescribeVpcTaskResult") == 3
    assert clock.slept == [0.5, 0.5, 0.5]  # the first poll waits one interval too


def test_task_that_never_ends_times_out_after_bounded_polls(make_vpc, replies, clock) -> None:
    vpc, stub = make_vpc(IpCloud(replies, task_status=lambda _: "RUNNING"), task_timeout=5.0)
    start = clock.now
    with pytest.raises(errors.TaskTimeout) as caught:
        vpc.delete_eni(EniId("eni-1"))
    assert caught.value.retryable is True
    assert clock.now - start == pytest.approx(5.0)
    assert stub.actions().count("DescribeVpcTaskResult") == 10


class PollRefused(IpCloud):
    """The action is accepted, then polling its task is answered with an error (the task is not found)."""

    def __call__(self, action, params):
        if action == "DescribeVpcTaskResult":
            return {**self.replies.error("ResourceNotFound"), "RequestId": "poll-1"}
        return super().__call__(action, params)


def test_a_failed_poll_after_an_accepted_action_is_an_unknown_outcome_not_a_refusal(make_vpc, replies) -> None:
    vpc, stub = make_vpc(PollRefused(replies))
    with pytest.raises(errors.TaskTimeout) as caught:
        vpc.assign_private_ips(EniId("eni-1"), intent="pod-ips/1", count=2)
    assert caught.value.retryable is True and not isinstance(caught.value, errors.NotFound)
    assert "ResourceNotFound" in str(caught.value)
    assert stub.actions().count("AssignPrivateIpAddresses") == 1


def test_allocate_eip_waits_for_its_task_and_describes(make_vpc, replies) -> None:
    vpc, stub = make_vpc(IpCloud(replies))
    (eip,) = vpc.allocate_eips(intent="pod ns/p", bandwidth=50, isp="CMCC")
    allocate = mutation_calls(stub, "AllocateAddresses")[0]
    assert allocate["InternetMaxBandwidthOut"] == 50 and allocate["InternetServiceProvider"] == "CMCC"
    assert ("DescribeTaskResult", {"TaskId": 777}) in stub.calls
    assert eip.id == EipId("eip-1") and eip.public_ip == "1.2.3.4"


@pytest.mark.parametrize(
    "call",
    [lambda v: v.assign_private_ips(EniId("e"), intent="i", count=2, addresses=["10.0.0.1"]),
     lambda v: v.assign_private_ips(EniId("e"), intent="i"),
     lambda v: v.assign_private_ips(EniId("e"), intent="i", addresses=["10.0.0.1", "10.0.0.1"]),
     lambda v: v.assign_private_ips(EniId("e"), intent="i", addresses=["10.0.0.300"]),
     lambda v: v.assign_private_ips(EniId("e"), intent="", count=1),
     lambda v: v.unassign_private_ips(EniId("e"), []),
     lambda v: v.create_eni(intent="i", subnet_id=SubnetId("s"), name="n", secondary_ip_count=11),
     lambda v: v.allocate_eips(intent="i", isp="NOPE"),
     lambda v: v.release_eips([]),
     lambda v: v.modify_eni_attribute(EniId("e"))],
)
def test_bad_arguments_fail_before_any_call(make_vpc, replies, call) -> None:
    vpc, stub = make_vpc(IpCloud(replies))
    with pytest.raises(ValueError):
        call(vpc)
    assert stub.calls == []
