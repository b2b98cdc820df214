"""Value types: derived properties and tolerant enum parsing."""

from __future__ import annotations

import pytest

from eni.cloud.types import EniLimits, EniState, IpState, Subnet, SubnetId, VpcId


@pytest.mark.parametrize(("cidr", "gateway"), [("10.0.1.0/24", "10.0.1.1"), ("172.16.32.0/20", "172.16.32.1")])
def test_subnet_gateway_is_first_host(cidr, gateway) -> None:
    assert Subnet(SubnetId("subnet-1"), cidr, "ap-guangzhou-3", 10, VpcId("vpc-1")).gateway == gateway


def test_limits_exclude_primaries() -> None:
    limits = EniLimits(eni_quantity=4, eni_private_ip_quantity=10)
    assert (limits.max_secondary_enis, limits.max_secondary_ips_per_eni) == (3, 9)


def test_unknown_states_parse_to_unknown() -> None:
    assert EniState.parse("ATTACHING") is EniState.ATTACHING
    assert EniState.parse("SOMETHING_NEW") is EniState.UNKNOWN
    assert IpState.parse(None) is IpState.UNKNOWN
