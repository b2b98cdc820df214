"""The struct encoder produces pyroute2's exact bytes for every request the pod path builds, and refuses what it
does not know (so that the caller falls back to pyroute2)."""

from ipaddress import IPv4Address

import pytest
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from eni.netlink.pyroute import pod
from eni.netlink.pyroute.rtnl import Request, _encode_with_pyroute2, get_link_request
from eni.netlink.pyroute.wire import Unsupported, encode
from eni.netlink.types import PodNetSpec

SPEC = PodNetSpec(netns_path="/run/netns/p", container_ifname="eth0", host_ifname="eni0123456789ab",
                  ip=IPv4Address("10.20.0.17"), eni_table=2003, mtu=1450, gateway=IPv4Address("169.254.1.1"))


def pod_path_requests():
    requests = [pod._add_veth(SPEC, 7, host_mac="02:aa:00:00:00:01", container_mac="02:bb:00:00:00:02"),
                get_link_request(ifname=SPEC.host_ifname), get_link_request(index=12)]
    requests += pod._pod_side(SPEC, peer_index=3, host_mac="02:aa:00:00:00:01")
    requests += pod._host_side(SPEC, host_index=44, container_mac="02:bb:00:00:00:02")
    requests += [pod._delete_rule(SPEC.ip, outgoing=True), pod._delete_rule(SPEC.ip, outgoing=False)]
    requests += pod._pod_rules(IPv4Address("10.20.0.200"), 70000)
    return requests


@pytest.mark.parametrize("request_", pod_path_requests(), ids=lambda r: r.op)
def test_bytes_match_pyroute2(request_):
    flags = 0x5
    fast = encode(request_.msg_class, request_.msg_type, flags, 77, request_.fields, request_.attrs)
    assert fast == _encode_with_pyroute2(request_, 77, flags)


def test_unknown_classes_fields_and_attributes_are_refused():
    with pytest.raises(Unsupported):
        encode(tcmsg, 36, 5, 1, {}, [])
    link = get_link_request(ifname="x")
    with pytest.raises(Unsupported):
        encode(link.msg_class, link.msg_type, 5, 1, {"bogus": 1}, [])
    with pytest.raises(Unsupported):
        encode(link.msg_class, link.msg_type, 5, 1, {}, [("IFLA_QDISC", "noqueue")])
    assert isinstance(Request("x", tcmsg, 36), Request)


def neighbour_request(mac):
    return pod._host_side(SPEC, host_index=4, container_mac=mac)[0]


@pytest.mark.parametrize("mac", ["02:AA:00:00:00:01", "02:aa:0f:00:00:01"])
def test_mac_spellings_match_pyroute2(mac):
    request = neighbour_request(mac)
    assert encode(request.msg_class, request.msg_type, 5, 9, request.fields, request.attrs) == (
        _encode_with_pyroute2(request, 9, 5))


@pytest.mark.parametrize("mac", ["02:aa:00:00:00", "02:aa:00:00:00:0g", "02-aa-00-00-00-01"])
def test_malformed_macs_are_refused(mac):
    request = neighbour_request(mac)
    with pytest.raises(ValueError):
        encode(request.msg_class, request.msg_type, 5, 9, request.fields, request.attrs)
