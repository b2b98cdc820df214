"""VPC actions on elastic public IPs: allocate, associate, disassociate, release, describe, task result.

EIP calls return a numeric ``TaskId`` polled with ``DescribeTaskResult``. While a task runs the EIP
shows a transitional status (CREATING, BINDING, UNBINDING, OFFLINING) and the binding it is heading
for, so conflicting calls are refused at once with ``InvalidAddressState``.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .hooks import HookEvent
from .params import ActionSpec, Kind, client_token, filter_map, ids_xor_filters, page, tags_param
from .records import EipRecord
from .state import CallContext, CloudState
from .views import eip_json
from .world import is_valid_id

MAX_ADDRESSES_PER_CALL = 20
ISPS = ("BGP", "CMCC", "CTCC", "CUCC", "BGP_PRO")


def _eip(state: CloudState, address_id: object, param: str = "AddressId") -> EipRecord:
    if not is_valid_id(address_id, "eip"):
        raise ApiError("InvalidParameterValue.AddressIdMalformed", f"The {param} `{address_id}` is malformed.")
    assert isinstance(address_id, str)
    found = state.eips.get(address_id)
    if found is None:
        raise ApiError("InvalidAddressId.NotFound", f"The EIP `{address_id}` does not exist.")
    return found


def allocate_addresses(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    client_token(params)
    count = params.get("AddressCount")
    count = 1 if count is None else count  # JSON null means absent, as for every other parameter
    if not 1 <= count <= MAX_ADDRESSES_PER_CALL:
        raise ApiError("InvalidParameterValue.Range", f"AddressCount must be between 1 and {MAX_ADDRESSES_PER_CALL}.")
    isp = params.get("InternetServiceProvider") or "BGP"
    if isp not in ISPS:
        raise ApiError("InvalidParameterValue", f"Unknown InternetServiceProvider `{isp}`.")
    bandwidth = params.get("InternetMaxBandwidthOut") or 1
    if not 1 <= bandwidth <= 1000:
        raise ApiError("InvalidParameterValue.BandwidthOutOfRange", "InternetMaxBandwidthOut must be 1..1000.")
    tags = tags_param(params)
    if len(state.eips) + count > state.world.quotas.eips:
        raise ApiError("AddressQuotaLimitExceeded", f"The account may hold {state.world.quotas.eips} EIPs.")
    created = []
    for _ in range(count):
        address_id = state.new_id("eip", lambda c: c in state.eips)
        eip = EipRecord(address_id, next(state.public_ips), "CREATING", params.get("AddressName") or "", isp,
                        bandwidth, tags)
        state.eips[address_id] = eip
        created.append(eip)

    def commit() -> list[HookEvent]:
        for eip in created:
            eip.status = "UNBIND"
        return []

    def rollback() -> list[HookEvent]:
        for eip in created:
            state.eips.pop(eip.address_id, None)
        return []

    task = state.start_task(ctx, commit=commit, rollback=rollback, task_id=state.next_eip_task_id())
    return {"AddressSet": [e.address_id for e in created], "TaskId": task.task_id}


def associate_address(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eip = _eip(state, params["AddressId"])
    instance_id, eni_id = params.get("InstanceId"), params.get("NetworkInterfaceId")
    if instance_id and eni_id:
        raise ApiError("InvalidParameterConflict", "Give InstanceId or NetworkInterfaceId, not both.")
    if not instance_id and not eni_id:
        raise ApiError("MissingParameter", "Give InstanceId or NetworkInterfaceId.")
    if eni_id:
        eni = state.eni(eni_id)
        private_ip = params.get("PrivateIpAddress")
        if not private_ip:
            raise ApiError("MissingParameter", "PrivateIpAddress is required with NetworkInterfaceId.")
        if private_ip not in eni.ips:
            raise ApiError("InvalidParameterValue.PrivateIpAddressNotMatch",
                           f"The IP `{private_ip}` is not on `{eni.eni_id}`.")
        target_status = "BIND_ENI"
    else:
        inst = state.instance(instance_id)
        eni = state.enis[inst.primary_eni_id]
        private_ip = eni.primary_ip
        target_status = "BIND"
    if eip.status != "UNBIND":
        raise ApiError("InvalidAddressState", f"The EIP `{eip.address_id}` is {eip.status}.")
    if state.eip_on(eni.eni_id, private_ip) is not None:
        code = "InvalidInstanceId.AlreadyBindEip" if instance_id else "InvalidPrivateIpAddress.AlreadyBindEip"
        raise ApiError(code, f"The IP `{private_ip}` already has an EIP.")
    eip.status, eip.eni_id, eip.private_ip, eip.instance_id = "BINDING", eni.eni_id, private_ip, eni.instance_id

    def commit() -> list[HookEvent]:
        if eip.status == "BINDING":  # not unbound meanwhile by the deletion of its ENI
            eip.status = target_status
        return []

    def rollback() -> list[HookEvent]:
        eip.status, eip.eni_id, eip.private_ip, eip.instance_id = "UNBIND", "", "", ""
        return []

    task = state.start_task(ctx, commit=commit, rollback=rollback, task_id=state.next_eip_task_id())
    return {"TaskId": task.task_id}


def disassociate_address(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    eip = _eip(state, params["AddressId"])
    before = eip.status
    if before not in ("BIND", "BIND_ENI"):
        raise ApiError("InvalidAddressState", f"The EIP `{eip.address_id}` is {eip.status}.")
    eip.status = "UNBINDING"

    def commit() -> list[HookEvent]:
        eip.status, eip.eni_id, eip.private_ip, eip.instance_id = "UNBIND", "", "", ""
        return []

    def rollback() -> list[HookEvent]:
        eip.status = before
        return []

    task = state.start_task(ctx, commit=commit, rollback=rollback, task_id=state.next_eip_task_id())
    return {"TaskId": task.task_id}


def release_addresses(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids = params["AddressIds"]
    if not ids:
        raise ApiError("InvalidParameterValue.Empty", "AddressIds must not be empty.")
    eips = [_eip(state, address_id, "AddressIds") for address_id in dict.fromkeys(ids)]
    for eip in eips:
        if eip.status != "UNBIND":
            raise ApiError("InvalidAddressState", f"The EIP `{eip.address_id}` is {eip.status}, not UNBIND.")
    for eip in eips:
        eip.status = "OFFLINING"

    def commit() -> list[HookEvent]:
        for eip in eips:
            state.eips.pop(eip.address_id, None)
        return []

    def rollback() -> list[HookEvent]:
        for eip in eips:
            eip.status = "UNBIND"
        return []

    task = state.start_task(ctx, commit=commit, rollback=rollback, task_id=state.next_eip_task_id())
    return {"TaskId": task.task_id}


EIP_FILTERS = (
    "address-id", "address-name", "address-ip", "address-status", "instance-id", "private-ip-address",
    "network-interface-id", "is-arrears", "address-type", "tag-key",
)


def _eip_fields(eip: EipRecord) -> dict[str, list[str]]:
    return {
        "address-id": [eip.address_id], "address-name": [eip.name], "address-ip": [eip.ip],
        "address-status": [eip.status], "instance-id": [eip.instance_id], "private-ip-address": [eip.private_ip],
        "network-interface-id": [eip.eni_id], "is-arrears": ["false"], "address-type": ["EIP"],
        "tag-key": list(eip.tags),
    }


def describe_addresses(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids_xor_filters(params, "AddressIds")
    offset, limit = page(params)
    filters = filter_map(params, EIP_FILTERS, prefixes=("tag:",))
    ids = params.get("AddressIds") or []
    for address_id in ids:
        if not is_valid_id(address_id, "eip"):
            raise ApiError("InvalidParameterValue.AddressIdMalformed", f"The AddressId `{address_id}` is malformed.")
    found = []
    for eip in state.eips.values():
        if ids and eip.address_id not in ids:
            continue
        fields = _eip_fields(eip)
        ok = True
        for name, values in filters.items():
            have = [eip.tags[name[4:]]] if name.startswith("tag:") and name[4:] in eip.tags else fields.get(name, [])
            ok = ok and bool(set(have) & set(values))
        if ok:
            found.append(eip)
    return {"TotalCount": len(found), "AddressSet": [eip_json(e) for e in found[offset : offset + limit]]}


def describe_task_result(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    task = state.task(str(params["TaskId"]))
    if task is None:
        raise ApiError("ResourceNotFound", f"The task `{params['TaskId']}` does not exist.")
    return {"TaskId": int(task.task_id), "Result": task.status}


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "AllocateAddresses", "vpc",
        {"AddressCount": Kind.INT, "InternetServiceProvider": Kind.STR, "InternetChargeType": Kind.STR,
         "IPChargeType": Kind.STR, "InternetMaxBandwidthOut": Kind.INT, "AddressChargePrepaid": Kind.OBJECT,
         "AddressType": Kind.STR, "AnycastZone": Kind.STR, "VipCluster": Kind.STRS, "ApplicableForCLB": Kind.BOOL,
         "Tags": Kind.TAGS, "BandwidthPackageId": Kind.STR, "AddressName": Kind.STR, "DedicatedClusterId": Kind.STR,
         "IsDedicatedAddressPool": Kind.BOOL, "Egress": Kind.STR, "AntiDDoSPackageId": Kind.STR,
         "ClientToken": Kind.STR},
        allocate_addresses, idempotent=True,
    ),
    ActionSpec(
        "AssociateAddress", "vpc",
        {"AddressId": Kind.STR, "InstanceId": Kind.STR, "NetworkInterfaceId": Kind.STR, "PrivateIpAddress": Kind.STR,
         "EipDirectConnection": Kind.BOOL, "InstanceRegion": Kind.STR},
        associate_address, required=("AddressId",),
    ),
    ActionSpec("DisassociateAddress", "vpc", {"AddressId": Kind.STR, "ReallocateNormalPublicIp": Kind.BOOL},
               disassociate_address, required=("AddressId",)),
    ActionSpec("ReleaseAddresses", "vpc", {"AddressIds": Kind.STRS}, release_addresses, required=("AddressIds",)),
    ActionSpec(
        "DescribeAddresses", "vpc",
        {"AddressIds": Kind.STRS, "Filters": Kind.FILTERS, "Offset": Kind.INT, "Limit": Kind.INT},
        describe_addresses,
    ),
    ActionSpec("DescribeTaskResult", "vpc", {"TaskId": Kind.INT, "DealName": Kind.STR}, describe_task_result,
               required=("TaskId",)),
)
