"""Elastic IPs through the real SDK: allocate, associate, disassociate, release, quotas and states."""

from __future__ import annotations


def allocate(cloud, count=1, **extra):
    reply = cloud.call("AllocateAddresses", {"AddressCount": count, **extra})
    assert cloud.wait_eip_task(reply["TaskId"]) == "SUCCESS"
    return reply["AddressSet"]


def eip(cloud, address_id):
    return cloud.call("DescribeAddresses", {"AddressIds": [address_id]})["AddressSet"][0]


def test_eip_lifecycle_on_an_eni_ip(cloud):
    (address_id,) = allocate(cloud, InternetServiceProvider="BGP", InternetMaxBandwidthOut=10,
                             Tags=[{"Key": "pod", "Value": "default/web-0"}])
    assert eip(cloud, address_id)["AddressStatus"] == "UNBIND"
    eni = cloud.create_eni(count=1)
    eni_id, private_ip = eni["NetworkInterfaceId"], eni["PrivateIpAddressSet"][1]["PrivateIpAddress"]
    task = cloud.call("AssociateAddress", {"AddressId": address_id, "NetworkInterfaceId": eni_id,
                                           "PrivateIpAddress": private_ip})["TaskId"]
    assert cloud.wait_eip_task(task) == "SUCCESS"
    bound = eip(cloud, address_id)
    assert (bound["AddressStatus"], bound["NetworkInterfaceId"], bound["PrivateAddressIp"]) == (
        "BIND_ENI", eni_id, private_ip)
    assert bound["Bandwidth"] == 10 and bound["TagSet"] == [{"Key": "pod", "Value": "default/web-0"}]
    spec = cloud.eni(eni_id)["PrivateIpAddressSet"][1]
    assert (spec["PublicIpAddress"], spec["AddressId"]) == (bound["AddressIp"], address_id)
    assert cloud.error("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [
        {"PrivateIpAddress": private_ip}]}) == "InvalidPrivateIpAddress.AlreadyBindEip"
    (second,) = allocate(cloud)
    assert cloud.error("AssociateAddress", {"AddressId": second, "NetworkInterfaceId": eni_id,
                                            "PrivateIpAddress": private_ip}) == "InvalidPrivateIpAddress.AlreadyBindEip"
    assert cloud.error("AssociateAddress", {"AddressId": address_id, "NetworkInterfaceId": eni_id,
                                            "PrivateIpAddress": eni["PrivateIpAddressSet"][0]["PrivateIpAddress"]}) == (
        "InvalidAddressState")
    assert cloud.error("ReleaseAddresses", {"AddressIds": [address_id]}) == "InvalidAddressState"
    assert cloud.wait_eip_task(cloud.call("DisassociateAddress", {"AddressId": address_id})["TaskId"]) == "SUCCESS"
    assert eip(cloud, address_id)["AddressStatus"] == "UNBIND"
    assert cloud.error("DisassociateAddress", {"AddressId": address_id}) == "InvalidAddressState"
    assert cloud.wait_eip_task(cloud.call("ReleaseAddresses", {"AddressIds": [address_id]})["TaskId"]) == "SUCCESS"
    assert cloud.call("DescribeAddresses", {"AddressIds": [address_id]})["TotalCount"] == 0


def test_associate_with_an_instance_binds_its_primary_ip(cloud):
    (address_id,) = allocate(cloud)
    cloud.wait_eip_task(cloud.call("AssociateAddress", {"AddressId": address_id,
                                                        "InstanceId": cloud.INS_MEDIUM})["TaskId"])
    bound = eip(cloud, address_id)
    assert (bound["AddressStatus"], bound["InstanceId"]) == ("BIND", cloud.INS_MEDIUM)
    inst = cloud.call("DescribeInstances", {"InstanceIds": [cloud.INS_MEDIUM]}, service="cvm")["InstanceSet"][0]
    assert inst["PublicIpAddresses"] == [bound["AddressIp"]]
    by_instance = cloud.call("DescribeAddresses", {"Filters": [{"Name": "instance-id",
                                                                "Values": [cloud.INS_MEDIUM]}]})
    assert [a["AddressId"] for a in by_instance["AddressSet"]] == [address_id]


def test_eip_errors_and_quota(cloud):
    assert cloud.error("AssociateAddress", {"AddressId": "eip-zzzzzzzz", "InstanceId": cloud.INS_MEDIUM}) == (
        "InvalidAddressId.NotFound")
    assert cloud.error("AssociateAddress", {"AddressId": "bad", "InstanceId": cloud.INS_MEDIUM}) == (
        "InvalidParameterValue.AddressIdMalformed")
    assert cloud.error("AllocateAddresses", {"AddressCount": 0}) == "InvalidParameterValue.Range"
    allocate(cloud, count=20)
    assert cloud.error("AllocateAddresses", {"AddressCount": 1}) == "AddressQuotaLimitExceeded"
    assert cloud.call("DescribeAddresses", {"Limit": 100})["TotalCount"] == 20
    assert cloud.error("DescribeTaskResult", {"TaskId": 1}) == "ResourceNotFound"


def test_allocate_is_idempotent_by_client_token(cloud):
    first = cloud.call("AllocateAddresses", {"AddressCount": 2, "ClientToken": "eipc-default-web-0"})
    second = cloud.call("AllocateAddresses", {"AddressCount": 2, "ClientToken": "eipc-default-web-0"})
    assert first["AddressSet"] == second["AddressSet"] and first["TaskId"] == second["TaskId"]
    assert cloud.call("DescribeAddresses", {})["TotalCount"] == 2
