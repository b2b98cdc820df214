"""CVM actions: ``DescribeInstances`` with the fields the project reads, and the admin path that adds
an instance at runtime (one CVM per simulated node in the local cluster).

Instances never change through the CVM API here; only their ENIs do (through the VPC actions).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import ApiError
from .params import ActionSpec, Kind, filter_map, ids_xor_filters, page
from .records import InstanceRecord
from .state import CallContext, CloudState
from .views import eni_json, instance_json
from .world import InstanceSpec, WorldError, is_valid_id

INSTANCE_FILTERS = (
    "zone", "instance-id", "instance-type", "instance-name", "instance-state", "vpc-id", "subnet-id",
    "private-ip-address", "security-group-id",
)


def _fields(state: CloudState, inst: InstanceRecord) -> dict[str, list[str]]:
    primary = state.enis[inst.primary_eni_id]
    return {
        "zone": [inst.zone], "instance-id": [inst.instance_id], "instance-type": [inst.itype.name],
        "instance-name": [inst.name], "instance-state": ["RUNNING"], "vpc-id": [primary.vpc_id],
        "subnet-id": [inst.subnet_id], "private-ip-address": [primary.primary_ip],
        "security-group-id": list(inst.group_ids),
    }


def describe_instances(state: CloudState, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    ids_xor_filters(params, "InstanceIds")
    offset, limit = page(params)
    filters = filter_map(params, INSTANCE_FILTERS)
    ids = params.get("InstanceIds") or []
    for instance_id in ids:
        if not is_valid_id(instance_id, "ins"):
            raise ApiError("InvalidInstanceId.Malformed", f"The instance id `{instance_id}` is malformed.")
    found = []
    for inst in state.instances.values():
        if ids and inst.instance_id not in ids:
            continue
        fields = _fields(state, inst)
        if all(set(fields[name]) & set(values) for name, values in filters.items()):
            found.append(inst)
    return {"TotalCount": len(found), "InstanceSet": [instance_json(state, i) for i in found[offset : offset + limit]]}


def add_instance(state: CloudState, body: object) -> dict[str, Any]:
    """``POST /_admin/instances`` {zone, instanceType, instanceId?, subnetId?, securityGroupIds?, name?}."""
    if not isinstance(body, dict):
        raise ApiError("InvalidParameter", "The body must be a JSON object.")
    zone, itype = body.get("zone"), body.get("instanceType")
    if not isinstance(zone, str) or not isinstance(itype, str):
        raise ApiError("MissingParameter", "zone and instanceType are required strings.")
    instance_id = body.get("instanceId") or state.new_id("ins", lambda c: c in state.instances)
    groups = body.get("securityGroupIds") or []
    subnet_id, name = body.get("subnetId") or "", body.get("name") or ""
    if not isinstance(groups, list) or not all(isinstance(v, str) for v in (instance_id, subnet_id, name, *groups)):
        raise ApiError("InvalidParameter", "instanceId, subnetId and name must be strings, securityGroupIds a list.")
    try:
        spec = InstanceSpec(instance_id, itype, zone, subnet_id, tuple(groups), name)
        # Reuse the world's checks for one instance: id format, type, zone, subnet, groups.
        dataclasses.replace(state.world, instances=(spec,))
    except WorldError as e:
        raise ApiError("InvalidParameterValue", str(e)) from e
    inst = state.add_instance(spec)
    reply = instance_json(state, inst)
    reply["PrimaryNetworkInterface"] = eni_json(state, state.enis[inst.primary_eni_id])
    return reply


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "DescribeInstances", "cvm",
        {"InstanceIds": Kind.STRS, "Filters": Kind.FILTERS, "Offset": Kind.INT, "Limit": Kind.INT},
        describe_instances,
    ),
)
