"""Every action through the SDK's typed request/response models.

The SDK warns about reply fields its models do not know ("fileds are useless"), and pytest turns
warnings into errors here: these calls prove the replies use exactly the real field names.
"""

from __future__ import annotations

import json

from tencentcloud.cvm.v20170312 import models as cvm_models
from tencentcloud.vpc.v20170312 import models


def typed(client, action, params, module=models):
    request = getattr(module, action + "Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def test_typed_vpc_calls_parse_without_unknown_fields(emu, cloud):
    vpc = cloud.vpc
    created = typed(vpc, "CreateNetworkInterface", {
        "VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3, "NetworkInterfaceName": "typed",
        "SecondaryPrivateIpAddressCount": 1, "Tags": [{"Key": "k", "Value": "v"}]}).NetworkInterface
    eni_id = created.NetworkInterfaceId
    assert created.MacAddress.startswith("20:90:6f:") and created.TagSet[0].Key == "k"
    emu.finish_tasks()
    attach = typed(vpc, "AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM,
                                                   "AttachType": 0})
    emu.finish_tasks()
    task = typed(vpc, "DescribeVpcTaskResult", {"TaskId": attach.RequestId})
    assert task.Status == "SUCCESS" and task.Result[0].ResourceId == eni_id
    described = typed(vpc, "DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]})
    assert described.NetworkInterfaceSet[0].Attachment.InstanceId == cloud.INS_MEDIUM
    assigned = typed(vpc, "AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                       "SecondaryPrivateIpAddressCount": 2})
    ips = [p.PrivateIpAddress for p in assigned.PrivateIpAddressSet]
    emu.finish_tasks()
    typed(vpc, "UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                              "PrivateIpAddresses": [{"PrivateIpAddress": ips[0]}]})
    emu.finish_tasks()
    other = cloud.create_eni()["NetworkInterfaceId"]
    typed(vpc, "MigratePrivateIpAddress", {"SourceNetworkInterfaceId": eni_id,
                                           "DestinationNetworkInterfaceId": other, "PrivateIpAddress": ips[1]})
    emu.finish_tasks()
    limits = typed(vpc, "DescribeNetworkInterfaceLimit", {"InstanceId": cloud.INS_MEDIUM})
    assert (limits.EniQuantity, limits.ExtendEniQuantity) == (4, 0)
    typed(vpc, "ModifyNetworkInterfaceAttribute", {"NetworkInterfaceId": eni_id, "NetworkInterfaceName": "n2"})
    typed(vpc, "AssociateNetworkInterfaceSecurityGroups", {"NetworkInterfaceIds": [eni_id],
                                                           "SecurityGroupIds": ["sg-emu00002"]})
    typed(vpc, "DisassociateNetworkInterfaceSecurityGroups", {"NetworkInterfaceIds": [eni_id],
                                                              "SecurityGroupIds": ["sg-emu00002"]})
    subnets = typed(vpc, "DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [cloud.VPC_ID]}]})
    assert subnets.TotalCount == 4 and subnets.SubnetSet[0].AvailableIpAddressCount > 0
    groups = typed(vpc, "DescribeSecurityGroups", {})
    assert groups.SecurityGroupSet[0].SecurityGroupId == "sg-emu00001"
    allocated = typed(vpc, "AllocateAddresses", {"AddressCount": 1, "InternetServiceProvider": "BGP",
                                                 "InternetMaxBandwidthOut": 5, "ClientToken": "typed-eip"})
    emu.finish_tasks()
    assert typed(vpc, "DescribeTaskResult", {"TaskId": int(allocated.TaskId)}).Result == "SUCCESS"
    address_id = allocated.AddressSet[0]
    typed(vpc, "AssociateAddress", {"AddressId": address_id, "NetworkInterfaceId": eni_id,
                                    "PrivateIpAddress": created.PrivateIpAddressSet[0].PrivateIpAddress})
    emu.finish_tasks()
    addresses = typed(vpc, "DescribeAddresses", {"AddressIds": [address_id]})
    assert addresses.AddressSet[0].AddressStatus == "BIND_ENI"
    eni_view = typed(vpc, "DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]}).NetworkInterfaceSet[0]
    assert eni_view.PrivateIpAddressSet[0].AddressId == address_id
    typed(vpc, "DisassociateAddress", {"AddressId": address_id})
    emu.finish_tasks()
    typed(vpc, "ReleaseAddresses", {"AddressIds": [address_id]})
    typed(vpc, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    emu.finish_tasks()
    typed(vpc, "DeleteNetworkInterface", {"NetworkInterfaceId": eni_id})
    emu.finish_tasks()
    assert typed(vpc, "DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]}).TotalCount == 0


def test_typed_cvm_describe_instances(cloud):
    reply = typed(cloud.cvm, "DescribeInstances", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]},
                  cvm_models)
    assert reply.TotalCount == 2
    inst = reply.InstanceSet[0]
    assert (inst.Placement.Zone, inst.VirtualPrivateCloud.VpcId) == ("ap-guangzhou-3", cloud.VPC_ID)
    assert inst.CPU == 2 and inst.Memory == 4 and inst.PrivateIpAddresses == ["10.0.1.2"]
