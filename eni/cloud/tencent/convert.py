"""Raw Tencent reply objects (real field names) to ``eni.cloud.types`` values, and back for requests.

Raw payloads stay here: each function takes one JSON object of the reply and returns a frozen value.
A reply missing a required field, or with the wrong type, raises ``CloudUnavailable`` with the code
``ClientSideBadReply`` (the reply, not the request, is at fault); optional fields default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from eni.cloud.errors import CloudUnavailable
from eni.cloud.tencent.caller import BAD_REPLY_CODE
from eni.cloud.types import (
    AttachType,
    Eip,
    EipId,
    EipState,
    Eni,
    EniAttachment,
    EniId,
    EniLimits,
    EniState,
    Instance,
    InstanceId,
    IpState,
    PrivateIp,
    SecurityGroupId,
    Subnet,
    SubnetId,
    VpcId,
)

__all__ = [
    "eip_from",
    "eni_from",
    "instance_from",
    "limits_from",
    "parse",
    "private_ip_from",
    "subnet_from",
    "tag_list",
    "tags_from",
]

T = TypeVar("T")
Raw = Mapping[str, Any]


def parse(action: str, convert: Callable[[Raw], T], raw: object) -> T:
    """Apply ``convert`` to ``raw``, turning shape errors into ``CloudUnavailable``."""
    if not isinstance(raw, Mapping):
        raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: expected an object, got {type(raw).__name__}")
    try:
        return convert(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: unexpected reply shape: {type(e).__name__}: {e}") from e


def tags_from(raw: Any) -> dict[str, str]:
    """``TagSet``/``Tags`` (``[{"Key", "Value"}]``) to a dict."""
    if not raw:
        return {}
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in raw}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A dict to the request's ``Tags`` list."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _str(raw: Raw, key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is {type(value).__name__}, not str")
    return value


def _opt_str(raw: Raw, key: str) -> str | None:
    value = raw.get(key)
    return str(value) if value else None


def private_ip_from(raw: Raw) -> PrivateIp:
    return PrivateIp(
        address=_str(raw, "PrivateIpAddress"),
        primary=bool(raw.get("Primary", False)),
        state=IpState.parse(raw.get("State", "AVAILABLE")),
        eip=_opt_str(raw, "PublicIpAddress"),
    )


def _attachment_from(raw: Raw) -> EniAttachment | None:
    attachment = raw.get("Attachment")
    if not attachment or not attachment.get("InstanceId"):
        return None
    attach_type = int(raw.get("AttachType") or 0)
    return EniAttachment(
        instance_id=InstanceId(str(attachment["InstanceId"])),
        device_index=int(attachment.get("DeviceIndex") or 0),
        attach_type=AttachType(attach_type) if attach_type in (0, 1) else AttachType.STANDARD,
    )


def eni_from(raw: Raw) -> Eni:
    ips = tuple(private_ip_from(ip) for ip in raw.get("PrivateIpAddressSet") or ())
    primary_ip = next((ip.address for ip in ips if ip.primary), ips[0].address if ips else "")
    return Eni(
        id=EniId(_str(raw, "NetworkInterfaceId")),
        mac=str(raw.get("MacAddress") or "").lower(),
        primary_ip=primary_ip,
        private_ips=ips,
        subnet_id=SubnetId(_str(raw, "SubnetId")),
        vpc_id=VpcId(_str(raw, "VpcId")),
        security_group_ids=tuple(SecurityGroupId(str(g)) for g in raw.get("GroupSet") or ()),
        attachment=_attachment_from(raw),
        state=EniState.parse(raw.get("State", "UNKNOWN")),
        tags=tags_from(raw.get("TagSet")),
        zone=_opt_str(raw, "Zone"),
        primary=bool(raw.get("Primary", False)),
        name=str(raw.get("NetworkInterfaceName") or ""),
    )


def subnet_from(raw: Raw) -> Subnet:
    return Subnet(
        id=SubnetId(_str(raw, "SubnetId")),
        cidr=_str(raw, "CidrBlock"),
        zone=_str(raw, "Zone"),
        available_ip_count=int(raw["AvailableIpAddressCount"]),
        vpc_id=VpcId(_str(raw, "VpcId")),
        name=str(raw.get("SubnetName") or ""),
        route_table_id=str(raw.get("RouteTableId") or ""),
    )


def limits_from(raw: Raw) -> EniLimits:
    return EniLimits(
        eni_quantity=int(raw["EniQuantity"]),
        eni_private_ip_quantity=int(raw["EniPrivateIpAddressQuantity"]),
        extend_eni_quantity=int(raw.get("ExtendEniQuantity") or 0),
        extend_eni_private_ip_quantity=int(raw.get("ExtendEniPrivateIpAddressQuantity") or 0),
    )


def instance_from(raw: Raw) -> Instance:
    vpc = raw.get("VirtualPrivateCloud") or {}
    ips = raw.get("PrivateIpAddresses") or []
    return Instance(
        id=InstanceId(_str(raw, "InstanceId")),
        zone=str((raw.get("Placement") or {}).get("Zone") or ""),
        instance_type=str(raw.get("InstanceType") or ""),
        cpu=int(raw.get("CPU") or 0),
        memory=int(raw.get("Memory") or 0),
        vpc_id=VpcId(vpc["VpcId"]) if vpc.get("VpcId") else None,
        subnet_id=SubnetId(vpc["SubnetId"]) if vpc.get("SubnetId") else None,
        primary_ip=str(ips[0]) if ips else None,
        security_group_ids=tuple(SecurityGroupId(str(g)) for g in raw.get("SecurityGroupIds") or ()),
    )


def eip_from(raw: Raw) -> Eip:
    bandwidth = raw.get("Bandwidth")
    return Eip(
        id=EipId(_str(raw, "AddressId")),
        public_ip=str(raw.get("AddressIp") or ""),
        state=EipState.parse(raw.get("AddressStatus", "UNKNOWN")),
        eni_id=EniId(raw["NetworkInterfaceId"]) if raw.get("NetworkInterfaceId") else None,
        private_ip=_opt_str(raw, "PrivateAddressIp"),
        bandwidth=int(bandwidth) if bandwidth is not None else None,
        isp=_opt_str(raw, "InternetServiceProvider"),
        tags=tags_from(raw.get("TagSet")),
        instance_id=InstanceId(raw["InstanceId"]) if raw.get("InstanceId") else None,
    )
