"""parse_link reads the pod path's link fields from raw RTM_NEWLINK bytes exactly as pyroute2 decodes them."""

import struct

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from eni.netlink.pyroute.linkmsg import parse_link
from eni.netlink.pyroute.rtnl import host_link


def encoded(*, index, flags, attrs):
    msg = ifinfmsg()
    msg["index"], msg["flags"], msg["attrs"] = index, flags, attrs
    msg["header"]["type"] = 16
    msg.encode()
    return bytes(msg.data)


@pytest.mark.parametrize("attrs,kind,peer", [
    ([("IFLA_IFNAME", "eni1234"), ("IFLA_ADDRESS", "02:aa:bb:cc:dd:ee"), ("IFLA_MTU", 1450), ("IFLA_LINK", 7),
      ("IFLA_STATS64", {"rx_packets": 5}),
      ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth")]})], "veth", 7),
    ([("IFLA_IFNAME", "eth0"), ("IFLA_ADDRESS", "02:00:00:00:00:01"), ("IFLA_MTU", 9001)], "", None),
])
def test_fields_match_pyroute2s_decoding(attrs, kind, peer):
    data = encoded(index=42, flags=1, attrs=attrs)
    decoded = ifinfmsg(data)
    decoded.decode()
    fast = host_link(parse_link(data))
    assert fast == host_link(decoded)
    assert (fast.index, fast.up, fast.kind, fast.peer_index) == (42, True, kind, peer)


OVERLONG_ATTR = struct.pack("=IHHII", 40, 16, 0, 0, 0) + b"\x00" * 16 + struct.pack("=HH", 200, 3) + b"eth0"


@pytest.mark.parametrize("data", [b"", b"\x00" * 20, OVERLONG_ATTR])
def test_malformed_messages_raise_value_error(data):
    with pytest.raises(ValueError):
        parse_link(data)
