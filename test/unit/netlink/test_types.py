"""Value types: bad input is refused with a clear ValueError; doctests of the light modules run."""

from __future__ import annotations

import doctest
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

import eni.netlink
from eni.netlink import namespace, sysctl, types
from eni.netlink.pyroute import pod
from eni.netlink.types import EniSpec, PodNetSpec, eni_table

GOOD: dict[str, Any] = {
    "netns_path": "/var/run/netns/cni-1",
    "container_ifname": "eth0",
    "host_ifname": "enia1b2c3d4e5f",
    "ip": IPv4Address("10.0.0.7"),
    "eni_table": 2003,
}


def test_a_good_spec_keeps_its_values_and_defaults() -> None:
    spec = PodNetSpec(**GOOD)
    assert spec.mtu == 1500 and spec.gateway == IPv4Address("169.254.1.1") and spec.eni_table == 2003


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("netns_path", "", "netns path"),
        ("container_ifname", "", "container interface name"),
        ("host_ifname", "a-name-longer-than-15", "host interface name"),
        ("host_ifname", "bad/name", "host interface name"),
        ("host_ifname", "..", "host interface name"),
        ("ip", "10.0.0.7", "IPv4Address"),
        ("ip", IPv4Address("0.0.0.0"), "invalid pod ip"),
        ("ip", IPv4Address("169.254.1.1"), "invalid pod ip"),
        ("eni_table", 254, "route table"),
        ("eni_table", 0, "route table"),
        ("eni_table", True, "route table"),
        ("eni_table", 2**32, "route table"),
        ("mtu", 67, "mtu"),
        ("mtu", 65536, "mtu"),
    ],
)
def test_bad_pod_specs_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PodNetSpec(**{**GOOD, field: value})


def test_eni_spec_normalises_the_mac_and_checks_the_subnet() -> None:
    spec = EniSpec("02:AB:CD:00:00:01", IPv4Address("10.1.0.5"), IPv4Network("10.1.0.0/24"), IPv4Address("10.1.0.1"))
    assert spec.mac == "02:ab:cd:00:00:01"
    with pytest.raises(ValueError, match="must be in"):
        EniSpec("02:ab:cd:00:00:01", IPv4Address("10.2.0.5"), IPv4Network("10.1.0.0/24"), IPv4Address("10.1.0.1"))
    with pytest.raises(ValueError, match="MAC"):
        EniSpec("02:ab:cd:00:00", IPv4Address("10.1.0.5"), IPv4Network("10.1.0.0/24"), IPv4Address("10.1.0.1"))


def test_eni_table_follows_tkes_rule() -> None:
    assert [eni_table(i) for i in (1, 2, 17)] == [2001, 2002, 2017]


def test_netns_path_accepts_names_and_paths_but_not_traversal() -> None:
    assert namespace.netns_path("cni-1234") == "/run/netns/cni-1234"
    assert namespace.netns_path("/proc/42/ns/net") == "/proc/42/ns/net"
    with pytest.raises(ValueError):
        namespace.netns_path("..")


def test_forwarding_sysctls_refuse_paths_in_interface_names() -> None:
    assert sysctl.forwarding_sysctls(["eth1"]) == {
        "ip_forward": "1", "conf/all/rp_filter": "0", "conf/default/rp_filter": "0", "conf/eth1/rp_filter": "0",
    }
    with pytest.raises(ValueError):
        sysctl.forwarding_sysctls(["../../../kernel"])


@pytest.mark.parametrize("module", [types, namespace, sysctl, pod])
def test_doctests(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_package_root_exports_what_it_declares_and_stays_light() -> None:
    assert sorted(eni.netlink.__all__) == sorted(set(eni.netlink.__all__))
    for name in eni.netlink.__all__:
        assert getattr(eni.netlink, name) is not None
