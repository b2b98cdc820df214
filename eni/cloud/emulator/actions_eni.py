"""VPC actions on ENIs themselves: create, attach, detach, delete, modify, security groups, describe, limits.

Each handler runs with the state lock held, validates everything before changing anything (so a
rejected call changes nothing), and answers with the real reply fields. Create/attach/detach/delete
are asynchronous: they reserve at once and commit when their task is due (see ``state``).
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .hooks import HookEvent, HookKind
from .params import ActionSpec, Kind, filter_map, ids_xor_filters, page, tags_param
from .records import EniRecord, wall_time
from .state import CallContext, CloudState
from .views import eni_json, eni_view
from .world import is_valid_id

MAX_IPS_PER_CALL = 10
MAX_GROUPS_PER_ENI = 5
MAX_NAME_LEN = 60


def too_many_ips(count: int) -> ApiError:
    return ApiError(
        "InvalidParameterValue.LimitExceeded",
        f"At most {MAX_IPS_PER_CALL} private IPs may be given in one request, got {count}.",
    )


def check_vpc(state: CloudState, vpc_id: str) -> None:
    if not is_valid_id(vpc_id, "vpc"):
        raise ApiError("InvalidVpcId.Malformed", f"The VPC id `{vpc_id}` is malformed.")
    if vpc_id != state.world.vpc_id:
        raise ApiError("InvalidVpcId.NotFound", f"The VPC `{vpc_id}` does not exist.")


def create_network_interface(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    check_vpc(state, params["VpcId"])
    subnet = state.subnet(params["SubnetId"])
    name = params["NetworkInterfaceName"]
    if len(name) > MAX_NAME_LEN:
        raise ApiError("InvalidParameterValue.TooLong", f"NetworkInterfaceName is longer than {MAX_NAME_LEN}.")
    groups = list(params.get("SecurityGroupIds") or [])
    state.check_groups(groups)
    tags = tags_param(params)
    specs = params.get("PrivateIpAddresses") or []
    count = params.get("SecondaryPrivateIpAddressCount") or 0
    if count < 0:
        raise ApiError("InvalidParameterValue.Range", "SecondaryPrivateIpAddressCount must not be negative.")
    if len(specs) + count > MAX_IPS_PER_CALL:
        raise too_many_ips(len(specs) + count)
    if sum(1 for s in specs if s.get("Primary")) > 1:
        raise ApiError("UnsupportedOperation.MultiplePrimaryIpAddress", "Only one primary IP may be given.")
    wanted = [s["PrivateIpAddress"] for s in sorted(specs, key=lambda s: not s.get("Primary", False))]
    if len(set(wanted)) != len(wanted):
        raise ApiError("InvalidParameterValue.Duplicate", "A private IP is given twice.")
    for ip in wanted:
        subnet.check_claimable(ip)
    auto_count = count + (0 if wanted else 1)
    if len(wanted) + auto_count > state.world.quotas.unattached_eni_ips:
        raise ApiError("LimitExceeded", "The ENI would hold more private IPs than its quota.")
    state.check_vpc_eni_quota()
    auto = [ip for ip in subnet.free_addresses(auto_count + len(wanted)) if ip not in wanted][:auto_count]
    eni = state.new_eni(subnet, name=name, groups=groups, tags=tags, ips=wanted + auto)
    eni.description = params.get("NetworkInterfaceDescription") or ""
    eni.state = "PENDING"
    for ip in eni.ips.values():
        ip.state = "PENDING"

    def commit() -> list[HookEvent]:
        eni.state = "AVAILABLE"
        for ip in eni.ips.values():
            ip.state = "AVAILABLE"
        return []

    def rollback() -> list[HookEvent]:
        state.drop_eni(eni)
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {"NetworkInterface": eni_json(state, eni)}


def attach_network_interface(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    inst = state.instance(params["InstanceId"])
    attach_type = params.get("AttachType") or 0
    if attach_type not in (0, 1):
        raise ApiError("InvalidParameterValue.Range", "AttachType must be 0 or 1.")
    if eni.instance_id:
        raise ApiError(
            "UnsupportedOperation.AttachmentAlreadyExists", f"`{eni.eni_id}` is attached to `{eni.instance_id}`."
        )
    if eni.state != "AVAILABLE":
        raise ApiError("UnsupportedOperation.InvalidState", f"`{eni.eni_id}` is {eni.state}.")
    if eni.zone != inst.zone:
        raise ApiError("UnsupportedOperation.ZoneMismatch", f"`{eni.eni_id}` is not in zone {inst.zone}.")
    quota = inst.itype.extend_eni_quantity if attach_type == 1 else inst.itype.eni_quantity
    attached = sum(1 for e in state.enis_of(inst.instance_id) if e.attach_type == attach_type)
    if attached >= quota:
        raise ApiError("LimitExceeded", f"`{inst.instance_id}` already has its {quota} ENIs of type {attach_type}.")
    ip_quota = inst.itype.extend_ip_per_eni if attach_type == 1 else inst.itype.ip_per_eni
    if len(eni.ips) > ip_quota:
        raise ApiError("LimitExceeded", f"`{eni.eni_id}` holds more IPs than `{inst.instance_id}` allows per ENI.")
    used_indexes = {e.device_index for e in state.enis_of(inst.instance_id)}
    eni.instance_id, eni.attach_type, eni.state = inst.instance_id, attach_type, "ATTACHING"
    eni.device_index = min(set(range(len(used_indexes) + 1)) - used_indexes)

    def commit() -> list[HookEvent]:
        eni.state = "AVAILABLE"
        eni.attach_time = eni.attach_time or wall_time()
        return [HookEvent(HookKind.ATTACH, eni_view(state, eni), eni.instance_id)]

    def rollback() -> list[HookEvent]:
        eni.instance_id, eni.attach_type, eni.device_index, eni.state = "", 0, 0, "AVAILABLE"
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {}


def detach_network_interface(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    inst = state.instance(params["InstanceId"])
    if eni.instance_id != inst.instance_id:
        raise ApiError("UnsupportedOperation.AttachmentNotFound", f"`{eni.eni_id}` is not attached there.")
    if eni.primary:
        raise ApiError("UnsupportedOperation.InvalidState", "The primary ENI of an instance cannot be detached.")
    if eni.state != "AVAILABLE":
        raise ApiError("UnsupportedOperation.InvalidState", f"`{eni.eni_id}` is {eni.state}.")
    eni.state = "DETACHING"

    def commit() -> list[HookEvent]:
        view = eni_view(state, eni)
        eni.instance_id, eni.attach_type, eni.device_index, eni.attach_time = "", 0, 0, ""
        eni.state = "AVAILABLE"
        return [HookEvent(HookKind.DETACH, view, view.instance_id)]

    def rollback() -> list[HookEvent]:
        eni.state = "AVAILABLE"
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {}


def delete_network_interface(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    if eni.primary:
        raise ApiError("UnsupportedOperation.InvalidState", "The primary ENI of an instance cannot be deleted.")
    if eni.instance_id:
        raise ApiError("ResourceInUse", f"`{eni.eni_id}` is attached to `{eni.instance_id}`; detach it first.")
    if eni.state != "AVAILABLE":
        raise ApiError("UnsupportedOperation.InvalidState", f"`{eni.eni_id}` is {eni.state}.")
    eni.state = "DELETING"

    def commit() -> list[HookEvent]:
        for eip in state.eips.values():
            if eip.eni_id == eni.eni_id:
                eip.eni_id, eip.private_ip, eip.instance_id, eip.status = "", "", "", "UNBIND"
        state.drop_eni(eni)
        return []

    def rollback() -> list[HookEvent]:
        eni.state = "AVAILABLE"
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {}


def modify_network_interface_attribute(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    name = params.get("NetworkInterfaceName")
    if name is not None and len(name) > MAX_NAME_LEN:
        raise ApiError("InvalidParameterValue.TooLong", f"NetworkInterfaceName is longer than {MAX_NAME_LEN}.")
    groups = params.get("SecurityGroupIds")
    if groups is not None:
        state.check_groups(groups)
        if len(groups) > MAX_GROUPS_PER_ENI:
            raise ApiError("LimitExceeded", f"An ENI takes at most {MAX_GROUPS_PER_ENI} security groups.")
        eni.groups = list(dict.fromkeys(groups))
    if name is not None:
        eni.name = name
    if params.get("NetworkInterfaceDescription") is not None:
        eni.description = params["NetworkInterfaceDescription"]
    return {}


def _group_targets(state: CloudState, params: dict[str, Any]) -> tuple[list[EniRecord], list[str]]:
    enis = [state.mutable_eni(eni_id, "NetworkInterfaceIds") for eni_id in params["NetworkInterfaceIds"]]
    groups = params["SecurityGroupIds"]
    if not enis or not groups:
        raise ApiError("InvalidParameterValue.Empty", "NetworkInterfaceIds and SecurityGroupIds must not be empty.")
    state.check_groups(groups)
    return enis, groups


def associate_security_groups(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    enis, groups = _group_targets(state, params)
    for eni in enis:
        if len(dict.fromkeys(eni.groups + groups)) > MAX_GROUPS_PER_ENI:
            raise ApiError("LimitExceeded", f"An ENI takes at most {MAX_GROUPS_PER_ENI} security groups.")
    for eni in enis:
        eni.groups = list(dict.fromkeys(eni.groups + groups))
    return {}


def disassociate_security_groups(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    enis, groups = _group_targets(state, params)
    for eni in enis:
        eni.groups = [g for g in eni.groups if g not in groups]
    return {}


ENI_FILTERS = (
    "vpc-id", "subnet-id", "network-interface-id", "attachment.instance-id", "groups.security-group-id",
    "network-interface-name", "network-interface-description", "address-ip", "tag-key", "is-primary",
    "eni-type", "mac-address",
)


def _eni_matches(state: CloudState, eni: EniRecord, filters: dict[str, list[str]]) -> bool:
    fields: dict[str, list[str]] = {
        "vpc-id": [eni.vpc_id],
        "subnet-id": [eni.subnet_id],
        "network-interface-id": [eni.eni_id],
        "attachment.instance-id": [eni.instance_id] if eni.instance_id else [],
        "groups.security-group-id": eni.groups,
        "network-interface-name": [eni.name],
        "network-interface-description": [eni.description],
        "address-ip": list(eni.ips),
        "tag-key": list(eni.tags),
        "is-primary": ["true" if eni.primary else "false"],
        "eni-type": ["0"],
        "mac-address": [eni.mac],
    }
    for name, values in filters.items():
        if name.startswith("tag:"):
            have = [eni.tags[name[4:]]] if name[4:] in eni.tags else []
        else:
            have = fields[name]
        if not set(have) & set(values):
            return False
    return True


def describe_network_interfaces(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids_xor_filters(params, "NetworkInterfaceIds")
    offset, limit = page(params)
    filters = filter_map(params, ENI_FILTERS, prefixes=("tag:",))
    ids = params.get("NetworkInterfaceIds") or []
    for eni_id in ids:
        if not is_valid_id(eni_id, "eni"):
            raise ApiError("InvalidParameterValue.Malformed", f"The ENI id `{eni_id}` is malformed.")
    found = [e for e in state.enis.values() if (not ids or e.eni_id in ids) and _eni_matches(state, e, filters)]
    return {
        "NetworkInterfaceSet": [eni_json(state, e) for e in found[offset : offset + limit]],
        "TotalCount": len(found),
    }


def describe_network_interface_limit(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    itype = state.instance(params["InstanceId"]).itype
    return {
        "EniQuantity": itype.eni_quantity,
        "EniPrivateIpAddressQuantity": itype.ip_per_eni,
        "ExtendEniQuantity": itype.extend_eni_quantity,
        "ExtendEniPrivateIpAddressQuantity": itype.extend_ip_per_eni,
        "SubEniQuantity": 0,
        "SubEniPrivateIpAddressQuantity": 0,
    }


_SG = {"NetworkInterfaceIds": Kind.STRS, "SecurityGroupIds": Kind.STRS}

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "CreateNetworkInterface", "vpc",
        {"VpcId": Kind.STR, "NetworkInterfaceName": Kind.STR, "SubnetId": Kind.STR,
         "NetworkInterfaceDescription": Kind.STR, "QosLevel": Kind.STR, "SecurityGroupIds": Kind.STRS,
         "PrivateIpAddresses": Kind.IP_SPECS, "SecondaryPrivateIpAddressCount": Kind.INT, "Tags": Kind.TAGS,
         "TrunkingFlag": Kind.STR, "IsRdma": Kind.BOOL, "ClientToken": Kind.STR,
         "TerminationProtection": Kind.BOOL, "TrafficProtection": Kind.BOOL},
        create_network_interface, required=("VpcId", "NetworkInterfaceName", "SubnetId"),
        idempotent=True, vpc_task=True,
    ),
    ActionSpec(
        "AttachNetworkInterface", "vpc",
        {"NetworkInterfaceId": Kind.STR, "InstanceId": Kind.STR, "AttachType": Kind.INT, "ClientToken": Kind.STR},
        attach_network_interface, required=("NetworkInterfaceId", "InstanceId"), idempotent=True, vpc_task=True,
    ),
    ActionSpec(
        "DetachNetworkInterface", "vpc",
        {"NetworkInterfaceId": Kind.STR, "InstanceId": Kind.STR, "ClientToken": Kind.STR},
        detach_network_interface, required=("NetworkInterfaceId", "InstanceId"), idempotent=True, vpc_task=True,
    ),
    ActionSpec(
        "DeleteNetworkInterface", "vpc", {"NetworkInterfaceId": Kind.STR},
        delete_network_interface, required=("NetworkInterfaceId",), vpc_task=True,
    ),
    ActionSpec(
        "ModifyNetworkInterfaceAttribute", "vpc",
        {"NetworkInterfaceId": Kind.STR, "NetworkInterfaceName": Kind.STR, "NetworkInterfaceDescription": Kind.STR,
         "SecurityGroupIds": Kind.STRS, "TrunkingFlag": Kind.STR},
        modify_network_interface_attribute, required=("NetworkInterfaceId",),
    ),
    ActionSpec("AssociateNetworkInterfaceSecurityGroups", "vpc", _SG, associate_security_groups,
               required=("NetworkInterfaceIds", "SecurityGroupIds")),
    ActionSpec("DisassociateNetworkInterfaceSecurityGroups", "vpc", _SG, disassociate_security_groups,
               required=("NetworkInterfaceIds", "SecurityGroupIds")),
    ActionSpec(
        "DescribeNetworkInterfaces", "vpc",
        {"NetworkInterfaceIds": Kind.STRS, "Filters": Kind.FILTERS, "Offset": Kind.INT, "Limit": Kind.INT},
        describe_network_interfaces,
    ),
    ActionSpec("DescribeNetworkInterfaceLimit", "vpc", {"InstanceId": Kind.STR}, describe_network_interface_limit,
               required=("InstanceId",)),
)
