"""The static description of an emulated Tencent Cloud region: the world the emulator starts from.

A world is a frozen value: region, zones, one VPC, its subnets, security groups, instance types with
their ENI/IP quotas, instances and account quotas. ``state.CloudState`` builds its mutable records from
it, so ``Emulator.reset()`` can always go back to the same start.

YAML format of ``--world FILE`` (every key optional except where noted; camelCase like the API)::

    region: ap-guangzhou
    zones: [ap-guangzhou-3, ap-guangzhou-4]
    vpc: {id: vpc-emu00001, cidr: 10.0.0.0/16, routeTableId: rtb-emu00001}   # the VPC's default route table
    subnets:                        # required when the file has a vpc.cidr other than the default
      - {id: subnet-gz3a0001, zone: ap-guangzhou-3, cidr: 10.0.1.0/24, name: gz3-a}
      - {id: subnet-gz3b0002, zone: ap-guangzhou-3, cidr: 10.0.2.0/24, routeTableId: rtb-custom01}
    securityGroups:
      - {id: sg-emu00001, name: default}
    instanceTypes:                  # added to / overriding the built-in S5 table
      S5.CUSTOM: {cpu: 4, memory: 8, eni: 4, ipPerEni: 10, extendEni: 0, extendIpPerEni: 0}
    instances:
      - {id: ins-node0001, type: S5.MEDIUM4, zone: ap-guangzhou-3, subnet: subnet-gz3a0001,
         securityGroups: [sg-emu00001], name: node-1}
    quotas: {vpcEnis: 1000, eips: 20, unattachedEniIps: 10}

Quota numbers count the primary ENI and the primary IP, like ``DescribeNetworkInterfaceLimit``.
Subnets reserve their network address, the gateway (first host) and the broadcast address. A subnet
without ``routeTableId`` is associated with the VPC's default route table, like a new subnet in the console.

This module never touches mutable state and never performs I/O except reading the YAML file.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ID_SUFFIX_LEN = 8
DEFAULT_ROUTE_TABLE_ID = "rtb-emu00001"


class WorldError(ValueError):
    """A world description is inconsistent (unknown zone, overlapping subnets, bad id...)."""


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One CVM instance type and its ENI quotas (counts include the primary ENI and primary IP)."""

    name: str
    cpu: int
    memory: int
    eni_quantity: int
    ip_per_eni: int
    extend_eni_quantity: int = 0
    extend_ip_per_eni: int = 0


# PRODUCT.md: S5 1c 2x6, 2c 4x10, 4c 4x10, 8c 6x20, 16c+ 8x30.
DEFAULT_INSTANCE_TYPES: tuple[InstanceType, ...] = (
    InstanceType("S5.SMALL1", 1, 1, 2, 6),
    InstanceType("S5.SMALL2", 1, 2, 2, 6),
    InstanceType("S5.MEDIUM2", 2, 2, 4, 10),
    InstanceType("S5.MEDIUM4", 2, 4, 4, 10),
    InstanceType("S5.LARGE8", 4, 8, 4, 10, 4, 10),
    InstanceType("S5.2XLARGE16", 8, 16, 6, 20, 6, 20),
    InstanceType("S5.4XLARGE32", 16, 32, 8, 30, 8, 30),
)


@dataclass(frozen=True, slots=True)
class SubnetSpec:
    subnet_id: str
    zone: str
    cidr: str
    name: str = ""
    # Empty: the subnet uses its VPC's default route table (World.route_table_id).
    route_table_id: str = ""


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    group_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    instance_id: str
    instance_type: str
    zone: str
    subnet_id: str = ""
    security_group_ids: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class Quotas:
    vpc_enis: int = 1000
    eips: int = 20
    # IPs an ENI may hold while it is not attached to any instance.
    unattached_eni_ips: int = 10


@dataclass(frozen=True, slots=True)
class World:
    """A whole region as the emulator starts it."""

    region: str
    zones: tuple[str, ...]
    vpc_id: str
    vpc_cidr: str
    subnets: tuple[SubnetSpec, ...]
    security_groups: tuple[SecurityGroupSpec, ...]
    instance_types: tuple[InstanceType, ...] = DEFAULT_INSTANCE_TYPES
    instances: tuple[InstanceSpec, ...] = ()
    quotas: Quotas = field(default_factory=Quotas)
    route_table_id: str = DEFAULT_ROUTE_TABLE_ID

    def __post_init__(self) -> None:
        validate_world(self)

    def instance_type(self, name: str) -> InstanceType:
        for itype in self.instance_types:
            if itype.name == name:
                return itype
        raise WorldError(f"unknown instance type {name!r}")

    def subnets_in_zone(self, zone: str) -> list[SubnetSpec]:
        return [s for s in self.subnets if s.zone == zone]

    def route_table_of(self, subnet: SubnetSpec) -> str:
        """The route table a subnet is associated with: its own, else the VPC's default one."""
        return subnet.route_table_id or self.route_table_id

    @classmethod
    def default(cls) -> World:
        """ap-guangzhou with zones -3 and -4, VPC 10.0.0.0/16, two /24 subnets per zone, three instances."""
        zones = ("ap-guangzhou-3", "ap-guangzhou-4")
        return cls(
            region="ap-guangzhou",
            zones=zones,
            vpc_id="vpc-emu00001",
            vpc_cidr="10.0.0.0/16",
            subnets=(
                SubnetSpec("subnet-gz3a0001", zones[0], "10.0.1.0/24", "gz3-a"),
                SubnetSpec("subnet-gz3b0002", zones[0], "10.0.2.0/24", "gz3-b"),
                SubnetSpec("subnet-gz4a0003", zones[1], "10.0.3.0/24", "gz4-a"),
                SubnetSpec("subnet-gz4b0004", zones[1], "10.0.4.0/24", "gz4-b"),
            ),
            security_groups=(
                SecurityGroupSpec("sg-emu00001", "default"),
                SecurityGroupSpec("sg-emu00002", "pods"),
            ),
            instances=(
                InstanceSpec("ins-emu00001", "S5.MEDIUM4", zones[0], "subnet-gz3a0001", ("sg-emu00001",), "node-1"),
                InstanceSpec("ins-emu00002", "S5.2XLARGE16", zones[0], "subnet-gz3a0001", ("sg-emu00001",), "node-2"),
                InstanceSpec("ins-emu00003", "S5.SMALL1", zones[1], "subnet-gz4a0003", ("sg-emu00001",), "node-3"),
            ),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> World:
        """Load a world from the YAML format in this module's docstring; WorldError on bad input."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise WorldError(f"cannot read world file {path}: {e}") from e
        return cls.from_dict(raw if raw is not None else {})

    @classmethod
    def from_dict(cls, raw: object) -> World:
        if not isinstance(raw, dict):
            raise WorldError("a world must be a mapping")
        try:
            return _world_from_mapping(raw)
        except (KeyError, TypeError, AttributeError) as e:
            raise WorldError(f"malformed world: {e!r}") from e


def _world_from_mapping(raw: dict[str, Any]) -> World:
    base = World.default()
    vpc = raw.get("vpc") or {}
    custom_cidr = "cidr" in vpc and vpc["cidr"] != base.vpc_cidr
    if custom_cidr and "subnets" not in raw:
        raise WorldError("a world with its own vpc.cidr must list its subnets")
    types = {t.name: t for t in base.instance_types}
    for name, spec in (raw.get("instanceTypes") or {}).items():
        types[str(name)] = InstanceType(
            str(name),
            int(spec["cpu"]),
            int(spec.get("memory", spec["cpu"] * 2)),
            int(spec["eni"]),
            int(spec["ipPerEni"]),
            int(spec.get("extendEni", 0)),
            int(spec.get("extendIpPerEni", 0)),
        )
    subnets = base.subnets
    if "subnets" in raw:
        subnets = tuple(
            SubnetSpec(
                str(s["id"]), str(s["zone"]), str(s["cidr"]), str(s.get("name", "")), str(s.get("routeTableId", ""))
            )
            for s in raw["subnets"]
        )
    groups = base.security_groups
    if "securityGroups" in raw:
        groups = tuple(SecurityGroupSpec(str(g["id"]), str(g.get("name", ""))) for g in raw["securityGroups"])
    instances = base.instances
    if "instances" in raw:
        instances = tuple(
            InstanceSpec(
                str(i["id"]),
                str(i["type"]),
                str(i["zone"]),
                str(i.get("subnet", "")),
                tuple(str(g) for g in i.get("securityGroups", ())),
                str(i.get("name", "")),
            )
            for i in raw["instances"]
        )
    q = raw.get("quotas") or {}
    quotas = Quotas(
        vpc_enis=int(q.get("vpcEnis", 1000)),
        eips=int(q.get("eips", 20)),
        unattached_eni_ips=int(q.get("unattachedEniIps", 10)),
    )
    return World(
        region=str(raw.get("region", base.region)),
        zones=tuple(str(z) for z in raw.get("zones", base.zones)),
        vpc_id=str(vpc.get("id", base.vpc_id)),
        vpc_cidr=str(vpc.get("cidr", base.vpc_cidr)),
        subnets=subnets,
        security_groups=groups,
        instance_types=tuple(types.values()),
        instances=instances,
        quotas=quotas,
        route_table_id=str(vpc.get("routeTableId", base.route_table_id)),
    )


def check_id(value: str, prefix: str) -> None:
    """Raise WorldError unless ``value`` looks like a Tencent id ``<prefix>-<8 lowercase alnum>``."""
    if not is_valid_id(value, prefix):
        raise WorldError(f"{value!r} is not a valid {prefix} id ({prefix}- and {ID_SUFFIX_LEN} of a-z0-9)")


def is_valid_id(value: object, prefix: str) -> bool:
    """True when ``value`` is ``<prefix>-`` plus 8 lowercase letters or digits.

    >>> is_valid_id("eni-ab12cd34", "eni"), is_valid_id("eni-AB", "eni")
    (True, False)
    """
    if not isinstance(value, str) or not value.startswith(prefix + "-"):
        return False
    suffix = value[len(prefix) + 1 :]
    return len(suffix) == ID_SUFFIX_LEN and all(c.isdigit() or "a" <= c <= "z" for c in suffix)


def validate_world(world: World) -> None:
    """Reject worlds whose parts do not fit together."""
    check_id(world.vpc_id, "vpc")
    check_id(world.route_table_id, "rtb")
    if not world.zones:
        raise WorldError("a world needs at least one zone")
    try:
        vpc_net = ipaddress.IPv4Network(world.vpc_cidr)
    except ValueError as e:
        raise WorldError(f"bad vpc cidr {world.vpc_cidr!r}: {e}") from e
    seen: list[ipaddress.IPv4Network] = []
    for subnet in world.subnets:
        check_id(subnet.subnet_id, "subnet")
        if subnet.route_table_id:
            check_id(subnet.route_table_id, "rtb")
        if subnet.zone not in world.zones:
            raise WorldError(f"subnet {subnet.subnet_id} is in unknown zone {subnet.zone}")
        try:
            net = ipaddress.IPv4Network(subnet.cidr)
        except ValueError as e:
            raise WorldError(f"bad subnet cidr {subnet.cidr!r}: {e}") from e
        if not net.subnet_of(vpc_net) or net.prefixlen > 28:
            raise WorldError(f"subnet {subnet.cidr} must be a /28 or larger inside {world.vpc_cidr}")
        if any(net.overlaps(other) for other in seen):
            raise WorldError(f"subnet {subnet.cidr} overlaps another subnet")
        seen.append(net)
    for group in world.security_groups:
        check_id(group.group_id, "sg")
    known_groups = {g.group_id for g in world.security_groups}
    known_types = {t.name for t in world.instance_types}
    for inst in world.instances:
        check_id(inst.instance_id, "ins")
        if inst.instance_type not in known_types:
            raise WorldError(f"instance {inst.instance_id} has unknown type {inst.instance_type}")
        if inst.zone not in world.zones or not world.subnets_in_zone(inst.zone):
            raise WorldError(f"instance {inst.instance_id}: zone {inst.zone} is unknown or has no subnet")
        if inst.subnet_id and inst.subnet_id not in {s.subnet_id for s in world.subnets_in_zone(inst.zone)}:
            raise WorldError(f"instance {inst.instance_id}: subnet {inst.subnet_id} is not in zone {inst.zone}")
        if not set(inst.security_group_ids) <= known_groups:
            raise WorldError(f"instance {inst.instance_id} names unknown security groups")
    if len({i.instance_id for i in world.instances}) != len(world.instances):
        raise WorldError("duplicate instance ids")
