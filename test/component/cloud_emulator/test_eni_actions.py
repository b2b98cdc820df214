"""ENI lifecycle through the real SDK: create, attach, detach, delete, modify, security groups, describe."""

from __future__ import annotations

import dataclasses
import re

from eni.cloud.emulator import World


def test_create_returns_a_pending_eni_that_becomes_available(cloud):
    reply = cloud.call("CreateNetworkInterface", {
        "VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3, "NetworkInterfaceName": "pods-1",
        "SecondaryPrivateIpAddressCount": 3, "SecurityGroupIds": ["sg-emu00002"],
        "Tags": [{"Key": "tke-cluster", "Value": "cls-1"}], "NetworkInterfaceDescription": "for pods",
    })
    eni = reply["NetworkInterface"]
    assert eni["State"] == "PENDING"
    assert re.fullmatch(r"eni-[0-9a-z]{8}", eni["NetworkInterfaceId"])
    assert re.fullmatch(r"20:90:6f(:[0-9a-f]{2}){3}", eni["MacAddress"])
    assert [p["Primary"] for p in eni["PrivateIpAddressSet"]] == [True, False, False, False]
    assert eni["Zone"] == "ap-guangzhou-3" and eni["GroupSet"] == ["sg-emu00002"]
    assert eni["TagSet"] == [{"Key": "tke-cluster", "Value": "cls-1"}]
    assert "Attachment" not in eni
    assert cloud.wait_vpc_task(reply["RequestId"])["Status"] == "SUCCESS"
    described = cloud.eni(eni["NetworkInterfaceId"])
    assert described["State"] == "AVAILABLE"
    assert {p["State"] for p in described["PrivateIpAddressSet"]} == {"AVAILABLE"}


def test_create_with_addresses_and_subnet_counts(cloud):
    before = cloud.call("DescribeSubnets", {"SubnetIds": [cloud.SUBNET_GZ3]})["SubnetSet"][0]
    eni = cloud.create_eni(PrivateIpAddresses=[{"PrivateIpAddress": "10.0.1.200", "Primary": True},
                                               {"PrivateIpAddress": "10.0.1.201"}], count=2)
    ips = [p["PrivateIpAddress"] for p in eni["PrivateIpAddressSet"]]
    assert ips[:2] == ["10.0.1.200", "10.0.1.201"] and len(ips) == 4
    after = cloud.call("DescribeSubnets", {"SubnetIds": [cloud.SUBNET_GZ3]})["SubnetSet"][0]
    assert after["AvailableIpAddressCount"] == before["AvailableIpAddressCount"] - 4
    assert after["TotalIpAddressCount"] == 253  # a /24 minus network, gateway, broadcast


def test_create_errors(cloud):
    base = {"VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3, "NetworkInterfaceName": "x"}
    assert cloud.error("CreateNetworkInterface", {**base, "SubnetId": "subnet-zzzzzzzz"}) == "ResourceNotFound"
    assert cloud.error("CreateNetworkInterface", {**base, "SubnetId": "bad"}) == "InvalidParameterValue.Malformed"
    assert cloud.error("CreateNetworkInterface", {**base, "VpcId": "vpc-zzzzzzzz"}) == "InvalidVpcId.NotFound"
    assert cloud.error("CreateNetworkInterface", {**base, "SecondaryPrivateIpAddressCount": 11}) == (
        "InvalidParameterValue.LimitExceeded")
    assert cloud.error("CreateNetworkInterface", {**base, "SecurityGroupIds": ["sg-zzzzzzzz"]}) == (
        "InvalidSecurityGroupID.NotFound")
    def with_ip(ip):
        return {**base, "PrivateIpAddresses": [{"PrivateIpAddress": ip}]}

    assert cloud.error("CreateNetworkInterface", with_ip("10.0.1.2")) == "InvalidParameterValue.Occupied"  # a primary
    assert cloud.error("CreateNetworkInterface", with_ip("10.0.1.1")) == "InvalidParameterValue.Reserved"
    assert cloud.error("CreateNetworkInterface", with_ip("10.0.9.9")) == "InvalidParameterValue.Range"
    assert cloud.error("CreateNetworkInterface", {"VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3}) == (
        "MissingParameter")
    assert cloud.error("CreateNetworkInterface", {**base, "SecondaryPrivateIpAddressCount": "2"}) == "InvalidParameter"
    # nothing of the above left anything behind
    assert len(cloud.call("DescribeNetworkInterfaces", {"Limit": 100})["NetworkInterfaceSet"]) == 3


def test_vpc_eni_quota(make_cloud):
    default = World.default()
    cloud = make_cloud(dataclasses.replace(default, quotas=dataclasses.replace(default.quotas, vpc_enis=4)))
    cloud.create_eni()  # the three instances' primary ENIs count too
    assert cloud.error("CreateNetworkInterface", {"VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3,
                                                  "NetworkInterfaceName": "x"}) == (
        "LimitExceeded.NetworkInterfaceLimitExceeded")


def test_attach_detach_delete_lifecycle(emu, cloud):
    eni_id = cloud.create_eni(count=1)["NetworkInterfaceId"]
    emu.task_delay = 60
    reply = cloud.call("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    assert cloud.eni(eni_id)["State"] == "ATTACHING"
    assert cloud.call("DescribeVpcTaskResult", {"TaskId": reply["RequestId"]})["Status"] == "RUNNING"
    emu.finish_tasks()
    emu.task_delay = 0.02
    result = cloud.wait_vpc_task(reply["RequestId"])
    assert (result["Status"], result["Output"], result["Result"]) == (
        "SUCCESS", "", [{"ResourceId": eni_id, "Status": "SUCCESS"}])
    described = cloud.eni(eni_id)
    assert described["State"] == "AVAILABLE"
    assert described["Attachment"]["InstanceId"] == cloud.INS_MEDIUM
    assert described["Attachment"]["DeviceIndex"] == 1
    attached = cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "attachment.instance-id", "Values": [cloud.INS_MEDIUM]}]})
    assert attached["TotalCount"] == 2
    assert cloud.error("DeleteNetworkInterface", {"NetworkInterfaceId": eni_id}) == "ResourceInUse"
    assert cloud.error("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_2XL}) == (
        "UnsupportedOperation.AttachmentAlreadyExists")
    cloud.done("DetachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    assert "Attachment" not in cloud.eni(eni_id)
    assert cloud.error("DetachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM}) == (
        "UnsupportedOperation.AttachmentNotFound")
    cloud.done("DeleteNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert cloud.call("DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]})["TotalCount"] == 0
    assert cloud.error("DeleteNetworkInterface", {"NetworkInterfaceId": eni_id}) == "ResourceNotFound"


def test_attach_errors(emu, cloud):
    eni_id = cloud.create_eni()["NetworkInterfaceId"]
    emu.task_delay = 60
    assert cloud.error("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_SMALL}) == (
        "UnsupportedOperation.ZoneMismatch")
    assert cloud.error("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": "ins-zzzzzzzz"}) == (
        "ResourceNotFound")
    assert cloud.error("AttachNetworkInterface", {"NetworkInterfaceId": "eni-zzzzzzzz",
                                                  "InstanceId": cloud.INS_MEDIUM}) == "ResourceNotFound"
    cloud.call("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    # a second mutation while the attach task runs
    assert cloud.error("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                    "SecondaryPrivateIpAddressCount": 1}) == (
        "UnsupportedOperation.MutexOperationTaskRunning")
    primary = cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "attachment.instance-id", "Values": [cloud.INS_MEDIUM]}, {"Name": "is-primary", "Values": ["true"]}]})
    primary_id = primary["NetworkInterfaceSet"][0]["NetworkInterfaceId"]
    assert cloud.error("DeleteNetworkInterface", {"NetworkInterfaceId": primary_id}) == (
        "UnsupportedOperation.InvalidState")


def test_eni_quota_per_instance(cloud):
    # S5.SMALL1 takes 2 ENIs including the primary one
    first = cloud.create_eni(subnet=cloud.SUBNET_GZ4)["NetworkInterfaceId"]
    second = cloud.create_eni(subnet=cloud.SUBNET_GZ4)["NetworkInterfaceId"]
    cloud.done("AttachNetworkInterface", {"NetworkInterfaceId": first, "InstanceId": cloud.INS_SMALL})
    assert cloud.error("AttachNetworkInterface", {"NetworkInterfaceId": second, "InstanceId": cloud.INS_SMALL}) == (
        "LimitExceeded")


def test_describe_limits_follow_the_quota_table(cloud):
    expected = {cloud.INS_SMALL: (2, 6), cloud.INS_MEDIUM: (4, 10), cloud.INS_2XL: (6, 20)}
    for instance_id, (enis, ips) in expected.items():
        reply = cloud.call("DescribeNetworkInterfaceLimit", {"InstanceId": instance_id})
        assert (reply["EniQuantity"], reply["EniPrivateIpAddressQuantity"]) == (enis, ips)
    assert cloud.error("DescribeNetworkInterfaceLimit", {"InstanceId": "ins-zzzzzzzz"}) == "ResourceNotFound"


def test_describe_filters_and_paging(cloud):
    tagged = cloud.create_eni(Tags=[{"Key": "owner", "Value": "ipamd"}])["NetworkInterfaceId"]
    cloud.create_eni(subnet=cloud.SUBNET_GZ4)
    by_tag = cloud.call("DescribeNetworkInterfaces", {"Filters": [{"Name": "tag:owner", "Values": ["ipamd"]}]})
    assert [e["NetworkInterfaceId"] for e in by_tag["NetworkInterfaceSet"]] == [tagged]
    by_key = cloud.call("DescribeNetworkInterfaces", {"Filters": [{"Name": "tag-key", "Values": ["owner"]}]})
    assert by_key["TotalCount"] == 1
    ip = cloud.eni(tagged)["PrivateIpAddressSet"][0]["PrivateIpAddress"]
    by_ip = cloud.call("DescribeNetworkInterfaces", {"Filters": [{"Name": "address-ip", "Values": [ip]}]})
    assert by_ip["NetworkInterfaceSet"][0]["NetworkInterfaceId"] == tagged
    by_subnet = cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "subnet-id", "Values": [cloud.SUBNET_GZ4]}, {"Name": "vpc-id", "Values": [cloud.VPC_ID]}]})
    assert by_subnet["TotalCount"] == 2  # the SMALL1 primary ENI and the new one
    page = cloud.call("DescribeNetworkInterfaces", {"Offset": 1, "Limit": 2})
    assert page["TotalCount"] == 5 and len(page["NetworkInterfaceSet"]) == 2
    assert cloud.error("DescribeNetworkInterfaces", {"Limit": 101}) == "InvalidParameterValue.Range"
    assert cloud.error("DescribeNetworkInterfaces", {"Filters": [{"Name": "colour", "Values": ["x"]}]}) == (
        "InvalidParameter.FilterInvalidKey")
    assert cloud.error("DescribeNetworkInterfaces", {"NetworkInterfaceIds": [tagged], "Filters": [
        {"Name": "vpc-id", "Values": [cloud.VPC_ID]}]}) == "InvalidParameter.Coexist"


def test_modify_and_security_groups(cloud):
    eni_id = cloud.create_eni(SecurityGroupIds=["sg-emu00001"])["NetworkInterfaceId"]
    cloud.call("ModifyNetworkInterfaceAttribute", {"NetworkInterfaceId": eni_id, "NetworkInterfaceName": "renamed"})
    assert cloud.eni(eni_id)["NetworkInterfaceName"] == "renamed"
    cloud.call("AssociateNetworkInterfaceSecurityGroups", {"NetworkInterfaceIds": [eni_id],
                                                           "SecurityGroupIds": ["sg-emu00002"]})
    assert cloud.eni(eni_id)["GroupSet"] == ["sg-emu00001", "sg-emu00002"]
    by_group = cloud.call("DescribeNetworkInterfaces", {"Filters": [
        {"Name": "groups.security-group-id", "Values": ["sg-emu00002"]}]})
    assert [e["NetworkInterfaceId"] for e in by_group["NetworkInterfaceSet"]] == [eni_id]
    cloud.call("DisassociateNetworkInterfaceSecurityGroups", {"NetworkInterfaceIds": [eni_id],
                                                              "SecurityGroupIds": ["sg-emu00001"]})
    assert cloud.eni(eni_id)["GroupSet"] == ["sg-emu00002"]
    assert cloud.error("AssociateNetworkInterfaceSecurityGroups", {"NetworkInterfaceIds": [eni_id],
                                                                   "SecurityGroupIds": ["sg-zzzzzzzz"]}) == (
        "InvalidSecurityGroupID.NotFound")
    groups = cloud.call("DescribeSecurityGroups", {"Limit": "10"})
    assert [g["SecurityGroupId"] for g in groups["SecurityGroupSet"]] == ["sg-emu00001", "sg-emu00002"]


def test_describe_subnets_and_instances(cloud):
    zone4 = cloud.call("DescribeSubnets", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]}]})
    assert {s["SubnetId"] for s in zone4["SubnetSet"]} == {"subnet-gz4a0003", "subnet-gz4b0004"}
    assert {s["CidrBlock"] for s in zone4["SubnetSet"]} == {"10.0.3.0/24", "10.0.4.0/24"}
    instances = cloud.call("DescribeInstances", {"InstanceIds": [cloud.INS_2XL]}, service="cvm")
    inst = instances["InstanceSet"][0]
    assert inst["InstanceType"] == "S5.2XLARGE16" and inst["CPU"] == 8
    assert inst["Placement"]["Zone"] == "ap-guangzhou-3"
    assert inst["VirtualPrivateCloud"]["VpcId"] == cloud.VPC_ID
    assert inst["SecurityGroupIds"] == ["sg-emu00001"] and len(inst["PrivateIpAddresses"]) == 1
    zone = cloud.call("DescribeInstances", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]}]}, service="cvm")
    assert [i["InstanceId"] for i in zone["InstanceSet"]] == [cloud.INS_SMALL]
    assert cloud.error("DescribeInstances", {"InstanceIds": ["nope"]}, service="cvm") == "InvalidInstanceId.Malformed"
