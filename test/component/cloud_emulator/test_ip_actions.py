"""Private IPs through the real SDK: assign, unassign, migrate, quotas, subnet exhaustion, tasks, ClientToken."""

from __future__ import annotations

from eni.cloud.emulator import World
from eni.cloud.emulator.world import SubnetSpec


def attached_eni(cloud, instance_id=None, count=0):
    eni_id = cloud.create_eni(count=count)["NetworkInterfaceId"]
    cloud.done("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": instance_id or cloud.INS_MEDIUM})
    return eni_id


def test_assign_by_count_and_by_address(cloud):
    eni_id = attached_eni(cloud)
    reply = cloud.done("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "SecondaryPrivateIpAddressCount": 3})
    assigned = [p["PrivateIpAddress"] for p in reply["PrivateIpAddressSet"]]
    assert len(assigned) == 3 and all(not p["Primary"] for p in reply["PrivateIpAddressSet"])
    cloud.done("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.99"}]})
    ips = cloud.ips(eni_id)
    assert ips[1:] == assigned + ["10.0.1.99"]
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                    "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.99"}]}) == (
        "InvalidParameterValue.Occupied")


def test_assign_errors(cloud):
    eni_id = attached_eni(cloud)
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                    "SecondaryPrivateIpAddressCount": 11}) == (
        "InvalidParameterValue.LimitExceeded")
    eleven = [{"PrivateIpAddress": f"10.0.1.{100 + i}"} for i in range(11)]
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": eleven}) == (
        "InvalidParameterValue.LimitExceeded")
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id}) == "MissingParameter"
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": "eni-zzzzzzzz",
                                                    "SecondaryPrivateIpAddressCount": 1}) == "ResourceNotFound"
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": "eni-1",
                                                    "SecondaryPrivateIpAddressCount": 1}) == (
        "InvalidParameterValue.Malformed")
    # S5.MEDIUM4: 10 IPs per ENI including the primary one
    cloud.done("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "SecondaryPrivateIpAddressCount": 9})
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                    "SecondaryPrivateIpAddressCount": 1}) == "LimitExceeded"
    assert len(cloud.ips(eni_id)) == 10


def test_subnet_exhaustion(make_cloud):
    default = World.default()
    small = SubnetSpec("subnet-tiny0001", "ap-guangzhou-3", "10.0.9.0/28", "tiny")  # 16 - 3 reserved = 13
    cloud = make_cloud(World(region=default.region, zones=default.zones, vpc_id=default.vpc_id,
                             vpc_cidr=default.vpc_cidr, subnets=(small,), security_groups=default.security_groups))
    cloud.create_eni(subnet="subnet-tiny0001", count=9)  # 10 used
    other = cloud.create_eni(subnet="subnet-tiny0001", count=2)["NetworkInterfaceId"]  # 13 used
    subnet = cloud.call("DescribeSubnets", {"SubnetIds": ["subnet-tiny0001"]})["SubnetSet"][0]
    assert subnet["AvailableIpAddressCount"] == 0 and subnet["TotalIpAddressCount"] == 13
    assert cloud.error("CreateNetworkInterface", {"VpcId": cloud.VPC_ID, "SubnetId": "subnet-tiny0001",
                                                  "NetworkInterfaceName": "x"}) == "ResourceInsufficient.Subnet"
    cloud.done("UnassignPrivateIpAddresses", {"NetworkInterfaceId": other,
                                              "PrivateIpAddresses": [{"PrivateIpAddress": cloud.ips(other)[1]}]})
    assert cloud.call("DescribeSubnets", {"SubnetIds": ["subnet-tiny0001"]})["SubnetSet"][0][
        "AvailableIpAddressCount"] == 1


def test_unassign_and_its_errors(cloud):
    eni_id = attached_eni(cloud, count=3)
    primary, *secondaries = cloud.ips(eni_id)
    cloud.done("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                              "PrivateIpAddresses": [{"PrivateIpAddress": secondaries[0]}]})
    assert cloud.ips(eni_id) == [primary] + secondaries[1:]
    assert cloud.error("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [
        {"PrivateIpAddress": primary}]}) == "InvalidParameterValue.Reserved"
    assert cloud.error("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [
        {"PrivateIpAddress": secondaries[0]}]}) == "ResourceNotFound"
    assert cloud.error("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id}) == "MissingParameter"
    # a rejected batch changes nothing, even for its valid members
    assert cloud.error("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [
        {"PrivateIpAddress": secondaries[1]}, {"PrivateIpAddress": "10.0.1.250"}]}) == "ResourceNotFound"
    assert cloud.ips(eni_id) == [primary] + secondaries[1:]


def test_migrate_private_ip(cloud):
    source = attached_eni(cloud, count=2)
    dest = attached_eni(cloud)
    moving = cloud.ips(source)[1]
    cloud.done("MigratePrivateIpAddress", {"SourceNetworkInterfaceId": source, "DestinationNetworkInterfaceId": dest,
                                           "PrivateIpAddress": moving})
    assert moving not in cloud.ips(source) and moving in cloud.ips(dest)
    other_subnet = cloud.create_eni(subnet="subnet-gz3b0002")["NetworkInterfaceId"]
    code = cloud.error("MigratePrivateIpAddress", {"SourceNetworkInterfaceId": dest,
                                                   "DestinationNetworkInterfaceId": other_subnet,
                                                   "PrivateIpAddress": moving})
    assert code == "InvalidParameterValue.SubnetConflict"


def test_task_failure_rolls_back(emu, cloud):
    eni_id = attached_eni(cloud)
    emu.faults.fail_tasks(next_n=1)
    reply = cloud.call("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "SecondaryPrivateIpAddressCount": 2})
    result = cloud.wait_vpc_task(reply["RequestId"])
    assert result["Status"] == "FAILED" and result["Output"]
    assert len(cloud.ips(eni_id)) == 1
    cloud.done("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "SecondaryPrivateIpAddressCount": 2})
    assert len(cloud.ips(eni_id)) == 3
    assert cloud.error("DescribeVpcTaskResult", {"TaskId": "no-such-task"}) == "ResourceNotFound"


def test_client_token_makes_assign_idempotent(cloud):
    eni_id = attached_eni(cloud)
    params = {"NetworkInterfaceId": eni_id, "SecondaryPrivateIpAddressCount": 2, "ClientToken": "assign-eni-2-ips"}
    first = cloud.call("AssignPrivateIpAddresses", params)
    second = cloud.call("AssignPrivateIpAddresses", params)  # while the first task still runs: no mutex error
    assert second["PrivateIpAddressSet"] == first["PrivateIpAddressSet"]
    assert second["RequestId"] != first["RequestId"]
    assert cloud.wait_vpc_task(second["RequestId"])["Status"] == "SUCCESS"
    third = cloud.call("AssignPrivateIpAddresses", params)
    assert third["PrivateIpAddressSet"] == first["PrivateIpAddressSet"]
    assert len(cloud.ips(eni_id)) == 3
    fresh = cloud.done("AssignPrivateIpAddresses", {**params, "ClientToken": "another"})
    assert fresh["PrivateIpAddressSet"] != first["PrivateIpAddressSet"]
    assert cloud.error("AssignPrivateIpAddresses", {**params, "ClientToken": "x" * 65}) == (
        "InvalidParameterValue.TooLong")


def test_client_token_makes_create_idempotent(cloud):
    params = {"VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3, "NetworkInterfaceName": "n",
              "ClientToken": "create-node-1-eni-1"}
    first = cloud.call("CreateNetworkInterface", params)["NetworkInterface"]["NetworkInterfaceId"]
    second = cloud.call("CreateNetworkInterface", params)["NetworkInterface"]["NetworkInterfaceId"]
    assert first == second
    assert cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "network-interface-name", "Values": ["n"]}]})["TotalCount"] == 1


def test_client_token_makes_attach_and_detach_retryable(cloud):
    eni_id = cloud.create_eni()["NetworkInterfaceId"]
    params = {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM, "ClientToken": "attach-eni-1"}
    first = cloud.call("AttachNetworkInterface", params)
    retried = cloud.call("AttachNetworkInterface", params)  # a retry after a lost reply: same outcome, no error
    assert cloud.wait_vpc_task(retried["RequestId"])["Status"] == "SUCCESS"
    assert cloud.wait_vpc_task(first["RequestId"])["Status"] == "SUCCESS"
    assert cloud.error("AttachNetworkInterface", {**params, "ClientToken": "another"}) == (
        "UnsupportedOperation.AttachmentAlreadyExists")
    detach = {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM, "ClientToken": "detach-eni-1"}
    cloud.done("DetachNetworkInterface", detach)
    assert cloud.wait_vpc_task(cloud.call("DetachNetworkInterface", detach)["RequestId"])["Status"] == "SUCCESS"
    assert "Attachment" not in cloud.eni(eni_id)
