"""Records rendered as the real API's JSON shapes (and as hook views), with the real field names.

Pure functions of the records: they copy, never mutate, and are called with the state lock held.
"""

from __future__ import annotations

from typing import Any

from .hooks import EniView
from .records import EipRecord, EniRecord, InstanceRecord, SubnetRecord
from .state import CloudState


def tag_set(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def eni_json(state: CloudState, eni: EniRecord) -> dict[str, Any]:
    ips = []
    for ip in eni.ips.values():
        eip = state.eip_on(eni.eni_id, ip.address)
        ips.append({
            "PrivateIpAddress": ip.address,
            "Primary": ip.primary,
            "PublicIpAddress": eip.ip if eip else "",
            "AddressId": eip.address_id if eip else "",
            "Description": ip.description,
            "IsWanIpBlocked": False,
            "State": ip.state,
            "QosLevel": "",
        })
    reply: dict[str, Any] = {
        "NetworkInterfaceId": eni.eni_id,
        "NetworkInterfaceName": eni.name,
        "NetworkInterfaceDescription": eni.description,
        "SubnetId": eni.subnet_id,
        "VpcId": eni.vpc_id,
        "GroupSet": list(eni.groups),
        "Primary": eni.primary,
        "MacAddress": eni.mac,
        "State": eni.state,
        "NetworkInterfaceState": eni.state,
        "PrivateIpAddressSet": ips,
        "Zone": eni.zone,
        "CreatedTime": eni.created_time,
        "Ipv6AddressSet": [],
        "TagSet": tag_set(eni.tags),
        "EniType": 0,
        "Business": "cvm",
        "CdcId": "",
        "AttachType": eni.attach_type,
        "ResourceId": "",
        "QosLevel": "",
    }
    if eni.instance_id:
        reply["Attachment"] = {
            "DeviceIndex": eni.device_index,
            "InstanceAccountId": "100000000001",
            "AttachTime": eni.attach_time,
            "InstanceId": eni.instance_id,
        }
    return reply


def eni_view(state: CloudState, eni: EniRecord) -> EniView:
    return EniView(
        eni_id=eni.eni_id,
        mac=eni.mac,
        vpc_id=eni.vpc_id,
        subnet_id=eni.subnet_id,
        subnet_cidr=str(state.subnets[eni.subnet_id].network),
        zone=eni.zone,
        primary=eni.primary,
        primary_ip=eni.primary_ip,
        ips=tuple(eni.ips),
        instance_id=eni.instance_id,
    )


def subnet_json(subnet: SubnetRecord) -> dict[str, Any]:
    return {
        "VpcId": subnet.vpc_id,
        "SubnetId": subnet.spec.subnet_id,
        "SubnetName": subnet.spec.name,
        "CidrBlock": str(subnet.network),
        "IsDefault": False,
        "EnableBroadcast": False,
        "Zone": subnet.spec.zone,
        "RouteTableId": subnet.route_table_id,
        "CreatedTime": subnet.created_time,
        "AvailableIpAddressCount": subnet.available,
        "TotalIpAddressCount": subnet.total,
        "Ipv6CidrBlock": "",
        "NetworkAclId": "",
        "IsRemoteVpcSnat": False,
        "TagSet": [],
        "CdcId": "",
        "IsCdcSubnet": 0,
        "StackType": "IPv4",
    }


def instance_json(state: CloudState, inst: InstanceRecord) -> dict[str, Any]:
    primary = state.enis[inst.primary_eni_id]
    eip = state.eip_on(primary.eni_id, primary.primary_ip)
    return {
        "Placement": {"Zone": inst.zone, "ProjectId": 0},
        "InstanceId": inst.instance_id,
        "InstanceType": inst.itype.name,
        "CPU": inst.itype.cpu,
        "Memory": inst.itype.memory,
        "RestrictState": "NORMAL",
        "InstanceName": inst.name,
        "InstanceChargeType": "POSTPAID_BY_HOUR",
        "PrivateIpAddresses": [primary.primary_ip],
        "PublicIpAddresses": [eip.ip] if eip else None,
        "VirtualPrivateCloud": {"VpcId": primary.vpc_id, "SubnetId": inst.subnet_id, "AsVpcGateway": False},
        "ImageId": "img-emu00001",
        "CreatedTime": inst.created_time.replace(" ", "T") + "Z",
        "OsName": "TencentOS Server 3.1",
        "SecurityGroupIds": list(inst.group_ids),
        "InstanceState": "RUNNING",
        "Tags": [],
        "Uuid": inst.instance_id,
        "DisableApiTermination": False,
    }


def eip_json(eip: EipRecord) -> dict[str, Any]:
    return {
        "AddressId": eip.address_id,
        "AddressName": eip.name,
        "AddressStatus": eip.status,
        "AddressIp": eip.ip,
        "InstanceId": eip.instance_id or None,
        "CreatedTime": eip.created_time.replace(" ", "T") + "Z",
        "NetworkInterfaceId": eip.eni_id or None,
        "PrivateAddressIp": eip.private_ip or None,
        "IsArrears": False,
        "IsBlocked": False,
        "IsEipDirectConnection": False,
        "AddressType": "EIP",
        "CascadeRelease": False,
        "InternetServiceProvider": eip.isp,
        "LocalBgp": False,
        "Bandwidth": eip.bandwidth,
        "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
        "TagSet": tag_set(eip.tags),
        "InstanceType": "NetworkInterface" if eip.eni_id else None,
        "Egress": "center_egress1",
    }


def snapshot(state: CloudState) -> dict[str, Any]:
    """The whole state as JSON-able data (admin endpoint and tests)."""
    return {
        "region": state.world.region,
        "vpcId": state.world.vpc_id,
        "subnets": [subnet_json(s) for s in state.subnets.values()],
        "instances": [instance_json(state, i) for i in state.instances.values()],
        "networkInterfaces": [eni_json(state, e) for e in state.enis.values()],
        "addresses": [eip_json(e) for e in state.eips.values()],
        "tasks": {t.task_id: {"Status": t.status, "Output": t.output} for t in state.tasks.values()},
    }
