"""VPC actions on private IPs and the read-only VPC views: assign, unassign, migrate, subnets,
security groups and ``DescribeVpcTaskResult``.

Handlers validate every IP before touching any (a rejected call changes nothing). IP mutations are
asynchronous tasks: assigned IPs are PENDING, unassigned ones DELETING, migrating ones MIGRATING until
the task commits; the subnet counts an IP as used from the moment it is reserved.
"""

from __future__ import annotations

from typing import Any

from .actions_eni import MAX_IPS_PER_CALL, too_many_ips
from .errors import ApiError
from .hooks import HookEvent, HookKind
from .params import ActionSpec, Kind, client_token, filter_map, ids_xor_filters, page
from .records import EniRecord, IpRecord
from .state import CallContext, CloudState
from .views import eni_view, subnet_json
from .world import is_valid_id


def _ip_json(ip: IpRecord) -> dict[str, Any]:
    return {"PrivateIpAddress": ip.address, "Primary": ip.primary, "State": ip.state, "Description": ip.description,
            "IsWanIpBlocked": False, "PublicIpAddress": "", "AddressId": "", "QosLevel": ""}


def _check_eni_ready(eni: EniRecord) -> None:
    if eni.state != "AVAILABLE":
        raise ApiError("UnsupportedOperation.InvalidState", f"`{eni.eni_id}` is {eni.state}.")


def assign_private_ip_addresses(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    client_token(params)
    specs = params.get("PrivateIpAddresses") or []
    count = params.get("SecondaryPrivateIpAddressCount") or 0
    if not specs and not count:
        raise ApiError("MissingParameter", "Give PrivateIpAddresses or SecondaryPrivateIpAddressCount.")
    if count < 0:
        raise ApiError("InvalidParameterValue.Range", "SecondaryPrivateIpAddressCount must be positive.")
    if len(specs) + count > MAX_IPS_PER_CALL:
        raise too_many_ips(len(specs) + count)
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    _check_eni_ready(eni)
    wanted = [s["PrivateIpAddress"] for s in specs]
    if any(s.get("Primary") for s in specs):
        raise ApiError("InvalidParameterValue", "A secondary IP cannot be assigned as the primary IP.")
    if len(set(wanted)) != len(wanted):
        raise ApiError("InvalidParameterValue.Duplicate", "A private IP is given twice.")
    limit = state.ip_limit(eni)
    if len(eni.ips) + len(wanted) + count > limit:
        raise ApiError("LimitExceeded", f"`{eni.eni_id}` may hold at most {limit} private IPs.")
    subnet = state.subnets[eni.subnet_id]
    for ip in wanted:
        subnet.check_claimable(ip)
    auto = [ip for ip in subnet.free_addresses(count + len(wanted)) if ip not in wanted][:count]
    added = [IpRecord(ip, primary=False, state="PENDING") for ip in wanted + auto]
    for rec in added:
        eni.ips[rec.address] = rec
        subnet.used[rec.address] = eni.eni_id

    def commit() -> list[HookEvent]:
        for rec in added:
            rec.state = "AVAILABLE"
        return [HookEvent(HookKind.ASSIGN, eni_view(state, eni), eni.instance_id, tuple(r.address for r in added))]

    def rollback() -> list[HookEvent]:
        for rec in added:
            eni.ips.pop(rec.address, None)
            subnet.used.pop(rec.address, None)
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {"PrivateIpAddressSet": [_ip_json(r) for r in added]}


def _owned_secondaries(state: CloudState, eni: EniRecord, ips: list[str]) -> list[IpRecord]:
    if len(set(ips)) != len(ips):
        raise ApiError("InvalidParameterValue.Duplicate", "A private IP is given twice.")
    records = []
    for ip in ips:
        rec = eni.ips.get(ip)
        if rec is None:
            raise ApiError("ResourceNotFound", f"The IP `{ip}` is not assigned to `{eni.eni_id}`.")
        if rec.primary:
            raise ApiError("InvalidParameterValue.Reserved", f"`{ip}` is the primary IP of `{eni.eni_id}`.")
        if rec.state != "AVAILABLE":
            raise ApiError("UnsupportedOperation.InvalidState", f"The IP `{ip}` is {rec.state}.")
        if state.eip_on(eni.eni_id, ip) is not None:
            raise ApiError("InvalidPrivateIpAddress.AlreadyBindEip", f"The IP `{ip}` has an EIP bound.")
        records.append(rec)
    return records


def unassign_private_ip_addresses(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ips = [s["PrivateIpAddress"] for s in params["PrivateIpAddresses"]]
    if not ips:
        raise ApiError("InvalidParameterValue.Empty", "PrivateIpAddresses must not be empty.")
    if len(ips) > MAX_IPS_PER_CALL:
        raise too_many_ips(len(ips))
    eni = state.mutable_eni(params["NetworkInterfaceId"])
    if params.get("InstanceId") and params["InstanceId"] != eni.instance_id:
        raise ApiError("UnsupportedOperation.AttachmentNotFound", f"`{eni.eni_id}` is not attached to that instance.")
    records = _owned_secondaries(state, eni, ips)
    subnet = state.subnets[eni.subnet_id]
    for rec in records:
        rec.state = "DELETING"

    def commit() -> list[HookEvent]:
        view = eni_view(state, eni)
        for rec in records:
            eni.ips.pop(rec.address, None)
            subnet.used.pop(rec.address, None)
        return [HookEvent(HookKind.UNASSIGN, view, eni.instance_id, tuple(ips))]

    def rollback() -> list[HookEvent]:
        for rec in records:
            rec.state = "AVAILABLE"
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(eni,))
    return {}


def migrate_private_ip_address(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    source = state.mutable_eni(params["SourceNetworkInterfaceId"], "SourceNetworkInterfaceId")
    dest = state.mutable_eni(params["DestinationNetworkInterfaceId"], "DestinationNetworkInterfaceId")
    if source is dest:
        raise ApiError("InvalidParameterValue", "Source and destination ENIs are the same.")
    _check_eni_ready(dest)
    if source.subnet_id != dest.subnet_id:
        raise ApiError("InvalidParameterValue.SubnetConflict", "Both ENIs must be in the same subnet.")
    (rec,) = _owned_secondaries(state, source, [params["PrivateIpAddress"]])
    if len(dest.ips) + 1 > state.ip_limit(dest):
        raise ApiError("LimitExceeded", f"`{dest.eni_id}` holds its maximum number of private IPs.")
    subnet = state.subnets[source.subnet_id]
    rec.state = "MIGRATING"

    def commit() -> list[HookEvent]:
        before = eni_view(state, source)
        source.ips.pop(rec.address, None)
        rec.state = "AVAILABLE"
        dest.ips[rec.address] = rec
        subnet.used[rec.address] = dest.eni_id
        return [
            HookEvent(HookKind.UNASSIGN, before, source.instance_id, (rec.address,)),
            HookEvent(HookKind.ASSIGN, eni_view(state, dest), dest.instance_id, (rec.address,)),
        ]

    def rollback() -> list[HookEvent]:
        rec.state = "AVAILABLE"
        return []

    state.start_task(ctx, commit=commit, rollback=rollback, enis=(source, dest))
    return {}


def describe_vpc_task_result(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    task = state.task(params["TaskId"])
    if task is None:
        raise ApiError("ResourceNotFound", f"The task `{params['TaskId']}` does not exist.")
    return {
        "Status": task.status,
        "Output": task.output,
        "Result": [{"ResourceId": eni_id, "Status": task.status} for eni_id in task.eni_ids],
    }


SUBNET_FILTERS = ("subnet-id", "vpc-id", "zone", "cidr-block", "subnet-name", "is-default", "route-table-id")


def describe_subnets(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids_xor_filters(params, "SubnetIds")
    offset, limit = page(params)
    filters = filter_map(params, SUBNET_FILTERS)
    ids = params.get("SubnetIds") or []
    for subnet_id in ids:
        if not is_valid_id(subnet_id, "subnet"):
            raise ApiError("InvalidParameterValue.Malformed", f"The subnet id `{subnet_id}` is malformed.")
    found = []
    for subnet in state.subnets.values():
        fields = {
            "subnet-id": subnet.spec.subnet_id, "vpc-id": subnet.vpc_id, "zone": subnet.spec.zone,
            "cidr-block": str(subnet.network), "subnet-name": subnet.spec.name, "is-default": "false",
            "route-table-id": subnet.route_table_id,
        }
        if ids and subnet.spec.subnet_id not in ids:
            continue
        if all(fields[name] in values for name, values in filters.items()):
            found.append(subnet)
    return {"TotalCount": len(found), "SubnetSet": [subnet_json(s) for s in found[offset : offset + limit]]}


def describe_security_groups(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids_xor_filters(params, "SecurityGroupIds")
    offset, limit = page(params)
    filters = filter_map(params, ("security-group-id", "security-group-name"))
    ids = params.get("SecurityGroupIds") or []
    found = [
        g for g in state.world.security_groups
        if (not ids or g.group_id in ids)
        and all({"security-group-id": g.group_id, "security-group-name": g.name}[n] in v for n, v in filters.items())
    ]
    groups = [
        {"SecurityGroupId": g.group_id, "SecurityGroupName": g.name, "SecurityGroupDesc": "", "ProjectId": "0",
         "IsDefault": g.name == "default", "CreatedTime": "2026-01-01 00:00:00", "UpdateTime": "2026-01-01 00:00:00",
         "TagSet": []}
        for g in found[offset : offset + limit]
    ]
    return {"SecurityGroupSet": groups, "TotalCount": len(found)}


_DESCRIBE_STR_PAGE = {"Filters": Kind.FILTERS, "Offset": Kind.NUMERIC_STR, "Limit": Kind.NUMERIC_STR}

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "AssignPrivateIpAddresses", "vpc",
        {"NetworkInterfaceId": Kind.STR, "PrivateIpAddresses": Kind.IP_SPECS,
         "SecondaryPrivateIpAddressCount": Kind.INT, "QosLevel": Kind.STR, "ClientToken": Kind.STR},
        assign_private_ip_addresses, required=("NetworkInterfaceId",), idempotent=True, vpc_task=True,
    ),
    ActionSpec(
        "UnassignPrivateIpAddresses", "vpc",
        {"NetworkInterfaceId": Kind.STR, "PrivateIpAddresses": Kind.IP_SPECS, "InstanceId": Kind.STR},
        unassign_private_ip_addresses, required=("NetworkInterfaceId", "PrivateIpAddresses"), vpc_task=True,
    ),
    ActionSpec(
        "MigratePrivateIpAddress", "vpc",
        {"SourceNetworkInterfaceId": Kind.STR, "DestinationNetworkInterfaceId": Kind.STR,
         "PrivateIpAddress": Kind.STR},
        migrate_private_ip_address,
        required=("SourceNetworkInterfaceId", "DestinationNetworkInterfaceId", "PrivateIpAddress"), vpc_task=True,
    ),
    ActionSpec("DescribeVpcTaskResult", "vpc", {"TaskId": Kind.STR}, describe_vpc_task_result, required=("TaskId",)),
    ActionSpec(
        "DescribeSubnets", "vpc",
        {"SubnetIds": Kind.STRS, **_DESCRIBE_STR_PAGE, "MaxResults": Kind.INT, "NextToken": Kind.STR},
        describe_subnets,
    ),
    ActionSpec(
        "DescribeSecurityGroups", "vpc",
        {"SecurityGroupIds": Kind.STRS, **_DESCRIBE_STR_PAGE, "OrderField": Kind.STR, "OrderDirection": Kind.STR},
        describe_security_groups,
    ),
)
