"""Route tables in the emulator: one default table per VPC, overridable per subnet, seen in DescribeSubnets."""

from __future__ import annotations

import textwrap

import pytest

from eni.cloud.emulator import World, WorldError

WORLD_YAML = """
    vpc: {id: vpc-emu00001, cidr: 10.0.0.0/16, routeTableId: rtb-main0001}
    subnets:
      - {id: subnet-gz3a0001, zone: ap-guangzhou-3, cidr: 10.0.1.0/24}
      - {id: subnet-gz3b0002, zone: ap-guangzhou-3, cidr: 10.0.2.0/24, routeTableId: rtb-pods0001}
    instances:
      - {id: ins-emu00001, type: S5.MEDIUM4, zone: ap-guangzhou-3}
"""


@pytest.fixture
def routed_world(tmp_path) -> World:
    path = tmp_path / "world.yaml"
    path.write_text(textwrap.dedent(WORLD_YAML))
    return World.from_yaml(path)


def route_tables(cloud, params=None) -> dict[str, str]:
    subnets = cloud.call("DescribeSubnets", params or {})["SubnetSet"]
    return {s["SubnetId"]: s["RouteTableId"] for s in subnets}


def test_default_world_associates_every_subnet_with_the_vpc_table(cloud) -> None:
    tables = route_tables(cloud)
    assert len(tables) == 4 and set(tables.values()) == {"rtb-emu00001"}


def test_subnet_override_and_vpc_default_from_the_world_file(make_cloud, routed_world) -> None:
    cloud = make_cloud(routed_world)
    assert route_tables(cloud) == {"subnet-gz3a0001": "rtb-main0001", "subnet-gz3b0002": "rtb-pods0001"}
    by_table = {"Filters": [{"Name": "route-table-id", "Values": ["rtb-pods0001"]}]}
    assert route_tables(cloud, by_table) == {"subnet-gz3b0002": "rtb-pods0001"}
    dumped = {s["SubnetId"]: s["RouteTableId"] for s in cloud.emu.snapshot()["subnets"]}
    assert dumped == route_tables(cloud)


def test_reset_keeps_the_route_tables_of_the_world(make_cloud, routed_world) -> None:
    cloud = make_cloud(routed_world)
    before = route_tables(cloud)
    cloud.emu.reset()
    assert route_tables(cloud) == before


@pytest.mark.parametrize("text", [
    "vpc: {routeTableId: rtb-BAD}",
    "subnets: [{id: subnet-aaaaaaa1, zone: ap-guangzhou-3, cidr: 10.0.7.0/24, routeTableId: route-1}]",
])
def test_malformed_route_table_ids_are_refused(tmp_path, text) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(WorldError, match="rtb"):
        World.from_yaml(path)
