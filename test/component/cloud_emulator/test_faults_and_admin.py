"""Injected faults (in process and through /_admin/faults), the call log, state dump and reset."""

from __future__ import annotations

import http.client
import json
import time

import pytest


def admin(emu, method, path, body=None):
    conn = http.client.HTTPConnection(emu.endpoint, timeout=10)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_throttle_by_probability_and_code(emu, cloud):
    emu.faults.throttle("DescribeSubnets", probability=1.0)
    assert cloud.error("DescribeSubnets") == "RequestLimitExceeded"
    assert cloud.call("DescribeNetworkInterfaces")["TotalCount"] == 3  # other actions unaffected
    emu.faults.throttle("DescribeSubnets", probability=1.0, code="LimitExceeded.ActionLimited")
    assert cloud.error("DescribeSubnets") == "LimitExceeded.ActionLimited"
    emu.faults.clear("DescribeSubnets")
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4
    assert emu.calls.count("DescribeSubnets", outcome="RequestLimitExceeded") == 1


def test_throttle_above_qps(emu, cloud):
    emu.faults.throttle("DescribeSubnets", qps=3)
    outcomes = []
    for _ in range(6):
        try:
            cloud.call("DescribeSubnets")
            outcomes.append("ok")
        except Exception as e:
            outcomes.append(e.get_code())
    # six calls well within one second: the first three pass, the rest are throttled
    assert outcomes.count("ok") == 3 and outcomes.count("RequestLimitExceeded") == 3


def test_internal_error_and_latency(emu, cloud):
    emu.faults.internal_error(probability=1.0)
    assert cloud.error("DescribeSubnets") == "InternalError"
    emu.faults.clear()
    emu.faults.latency("DescribeSubnets", seconds=0.3)
    started = time.monotonic()
    cloud.call("DescribeSubnets")
    assert time.monotonic() - started >= 0.3


def test_dropped_connections_set_at_runtime_through_admin(emu, cloud):
    status, _ = admin(emu, "PUT", "/_admin/faults", {"actions": {"DescribeSubnets": {"drop_probability": 1.0}}})
    assert status == 200
    assert cloud.error("DescribeSubnets") in ("ClientNetworkError", "ServerNetworkError")
    assert cloud.call("DescribeNetworkInterfaces")["TotalCount"] == 3  # only the named action drops
    assert emu.calls.count("DescribeSubnets", outcome="dropped") == 1
    admin(emu, "DELETE", "/_admin/faults")
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4


def test_dropped_connections(emu, cloud):
    emu.faults.drop_connections("DescribeSubnets", probability=1.0)
    code = cloud.error("DescribeSubnets")
    assert code in ("ClientNetworkError", "ServerNetworkError")
    assert emu.calls.count("DescribeSubnets", outcome="dropped") == 1
    emu.faults.clear()
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4


def test_task_failures_by_probability(emu, cloud):
    emu.faults.fail_tasks(probability=1.0)
    reply = cloud.call("CreateNetworkInterface", {"VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3,
                                                  "NetworkInterfaceName": "doomed"})
    assert cloud.wait_vpc_task(reply["RequestId"])["Status"] == "FAILED"
    assert cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "network-interface-name", "Values": ["doomed"]}]})["TotalCount"] == 0
    allocated = cloud.call("AllocateAddresses", {})
    assert cloud.wait_eip_task(allocated["TaskId"]) == "FAILED"
    assert cloud.call("DescribeAddresses")["TotalCount"] == 0


def test_admin_faults_round_trip(emu, cloud):
    status, plan = admin(emu, "PUT", "/_admin/faults", {
        "actions": {"DescribeSubnets": {"throttle_probability": 1.0}, "*": {"latency": 0.01}},
        "failNextTasks": 2})
    assert status == 200 and plan["actions"]["DescribeSubnets"]["throttle_probability"] == 1.0
    assert admin(emu, "GET", "/_admin/faults")[1]["failNextTasks"] == 2
    assert cloud.error("DescribeSubnets") == "RequestLimitExceeded"
    for bad in ({"actions": {"X": {"nope": 1}}}, {"actions": {"X": {"throttle_probability": 2}}}, [1],
                {"failNextTasks": "x"}, {"failNextTasks": True}, {"failTaskProbability": 1.0},
                {"actions": {"X": {"throttle_probability": True}}}, {"actions": {"X": {"latency": "slow"}}},
                {"actions": {"X": {"throttle_qps": None}}}, {"actions": {"X": {"throttle_code": 5}}},
                {"actions": {"*": {"drop_probability": 1.0}}, "failNextTask": 1}):
        status, reply = admin(emu, "PUT", "/_admin/faults", bad)
        assert status == 400 and reply["Error"]["Code"] == "InvalidParameter"
    assert admin(emu, "GET", "/_admin/faults")[1]["failNextTasks"] == 2  # bad input changed nothing
    assert admin(emu, "DELETE", "/_admin/faults")[1]["actions"] == {}
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4


def test_admin_state_reset_instances_and_calls(emu, cloud):
    cloud.create_eni()
    status, state = admin(emu, "GET", "/_admin/state")
    assert status == 200 and len(state["networkInterfaces"]) == 4 and state["region"] == "ap-guangzhou"
    status, inst = admin(emu, "POST", "/_admin/instances", {"zone": "ap-guangzhou-4", "instanceType": "S5.LARGE8",
                                                            "instanceId": "ins-node0042"})
    assert status == 200 and inst["InstanceId"] == "ins-node0042" and inst["CPU"] == 4
    primary = inst["PrimaryNetworkInterface"]
    assert primary["Primary"] and primary["MacAddress"].startswith("20:90:6f:")
    assert primary["PrivateIpAddressSet"][0]["PrivateIpAddress"].startswith("10.0.3.")
    limits = cloud.call("DescribeNetworkInterfaceLimit", {"InstanceId": "ins-node0042"})
    assert (limits["EniQuantity"], limits["EniPrivateIpAddressQuantity"]) == (4, 10)
    assert admin(emu, "POST", "/_admin/instances", {"zone": "ap-guangzhou-4", "instanceType": "S5.LARGE8",
                                                    "instanceId": "ins-node0042"})[0] == 400
    assert admin(emu, "POST", "/_admin/instances", {"zone": "mars-1", "instanceType": "S5.LARGE8"})[0] == 400
    assert admin(emu, "POST", "/_admin/instances", "garbage")[0] == 400
    for field, value in (("name", {"a": 1}), ("subnetId", 7), ("securityGroupIds", 5), ("securityGroupIds", [1])):
        status, reply = admin(emu, "POST", "/_admin/instances",
                              {"zone": "ap-guangzhou-3", "instanceType": "S5.SMALL1", field: value})
        assert (status, reply["Error"]["Code"]) == (400, "InvalidParameter"), field
    generated = admin(emu, "POST", "/_admin/instances", {"zone": "ap-guangzhou-3", "instanceType": "S5.SMALL1"})[1]
    assert generated["InstanceId"].startswith("ins-")
    calls = admin(emu, "GET", "/_admin/calls")[1]
    assert {"CreateNetworkInterface", "DescribeNetworkInterfaceLimit"} <= {c["action"] for c in calls}
    assert admin(emu, "POST", "/_admin/reset")[0] == 200
    assert len(emu.snapshot()["networkInterfaces"]) == 3 and len(emu.snapshot()["instances"]) == 3
    assert len(emu.calls) == 0
    assert admin(emu, "GET", "/_admin/nothing")[0] == 404


def test_add_instance_in_process(emu, cloud):
    inst = emu.add_instance(zone="ap-guangzhou-3", instance_type="S5.4XLARGE32", instance_id="ins-big00001")
    assert inst["InstanceType"] == "S5.4XLARGE32"
    limits = cloud.call("DescribeNetworkInterfaceLimit", {"InstanceId": "ins-big00001"})
    assert (limits["EniQuantity"], limits["EniPrivateIpAddressQuantity"]) == (8, 30)


def test_fault_values_are_validated(emu):
    with pytest.raises(ValueError):
        emu.faults.throttle(probability=1.5)
    with pytest.raises(ValueError):
        emu.faults.fail_tasks(next_n=-1)
