"""The batched rtnetlink socket's wire handling: messages encode as pyroute2 decodes them, batches split."""

from __future__ import annotations

import errno
import struct
from ipaddress import IPv4Address

from pyroute2.netlink import NLM_F_REPLACE
from pyroute2.netlink.rtnl.fibmsg import fibmsg

from eni.netlink.pyroute import pod
from eni.netlink.pyroute.kernel import RTM_DELRULE
from eni.netlink.pyroute.rtnl import Request, _encode, _split
from eni.netlink.types import PodNetSpec

HEADER = struct.Struct("=IHHII")


def test_a_rule_request_encodes_to_what_the_kernel_format_says() -> None:
    request = pod._delete_rule(IPv4Address("10.0.0.9"), outgoing=True)
    wire = _encode(request, seq=77)
    length, msg_type, flags, seq, _ = HEADER.unpack_from(wire)
    assert (length, msg_type, seq) == (len(wire), RTM_DELRULE, 77)
    assert flags & 0x1 and flags & 0x4  # NLM_F_REQUEST | NLM_F_ACK
    decoded = fibmsg(wire)
    decoded.decode()
    assert decoded["src_len"] == 32 and decoded.get("FRA_SRC") == "10.0.0.9"
    assert decoded.get("FRA_PRIORITY") == 1536 and decoded.get("FRA_PROTOCOL") == 177


def test_a_get_request_asks_for_no_ack() -> None:
    request = Request("ip link show x", fibmsg, 18, wants_reply=True)
    _, _, flags, _, _ = HEADER.unpack_from(_encode(request, seq=1))
    assert flags == 0x1


def test_a_change_inside_a_batch_asks_for_no_ack_and_keeps_its_other_flags() -> None:
    request = pod._delete_rule(IPv4Address("10.0.0.9"), outgoing=True)
    silent, acked = _encode(request, seq=5, ack=False), _encode(request, seq=5)
    assert HEADER.unpack_from(silent)[2] == 0x1 and HEADER.unpack_from(acked)[2] == 0x5
    assert silent[HEADER.size:] == acked[HEADER.size:]


def _ack(seq: int, code: int) -> bytes:
    body = struct.pack("=i", -code) + HEADER.pack(16, 0, 0, seq, 0)
    return HEADER.pack(16 + len(body), 2, 0, seq, 0) + body


def test_split_reads_every_message_of_a_datagram_and_stops_at_garbage() -> None:
    data = _ack(1, 0) + _ack(2, errno.EEXIST) + b"\x03\x00"
    parts = _split(data)
    assert [(seq, kind) for seq, kind, _ in parts] == [(1, 2), (2, 2)]
    assert struct.unpack_from("=i", parts[1][2])[0] == -errno.EEXIST
    assert _split(HEADER.pack(4, 2, 0, 9, 0)) == []  # a length shorter than the header is not trusted


def test_pod_side_requests_are_replace_semantics_so_repeats_are_harmless() -> None:
    spec = PodNetSpec(netns_path="/run/netns/x", container_ifname="eth0", host_ifname="veth1",
                          ip=IPv4Address("10.0.0.9"), eni_table=2002)
    for request in pod._pod_side(spec, peer_index=2, host_mac="02:00:00:00:00:01")[1:]:
        assert request.flags & NLM_F_REPLACE, request.op
    rules = [r for r in pod._host_side(spec, host_index=3, container_mac="02:00:00:00:00:02") if "rule" in r.op]
    assert all(r.ok == frozenset({errno.EEXIST}) for r in rules)
