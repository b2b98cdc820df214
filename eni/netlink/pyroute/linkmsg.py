"""Reads the few fields the pod path needs from an RTM_NEWLINK message, without decoding the rest.

Why: a veth's link message carries dozens of attributes (statistics, AF_SPEC, XDP...); decoding them all with
pyroute2's message classes costs more CPU than the rest of a pod's plumbing, and the pod path reads only the
index, flags, name, MAC, MTU, the peer's index and the link kind. This parser walks the rtattrs once and
keeps those. Must never raise on a short or odd message: the caller gets a ValueError it reports as such.
"""

from __future__ import annotations

import struct

from eni.netlink.pyroute.kernel import IFF_UP

__all__ = ["LinkFields", "parse_link"]

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_RTATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED / NLA_F_NET_BYTEORDER
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_LINKINFO = 1, 3, 4, 5, 18
IFLA_INFO_KIND = 1
_LINK_WANTED = frozenset({IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_LINKINFO})
_INFO_WANTED = frozenset({IFLA_INFO_KIND})


class LinkFields:
    """The link's index, name, MAC, kind, up flag, MTU and (veth) peer index."""

    __slots__ = ("index", "ifname", "mac", "kind", "up", "mtu", "peer_index")

    def __init__(self, *, index: int, ifname: str, mac: str, kind: str, up: bool, mtu: int,
                 peer_index: int | None) -> None:
        self.index, self.ifname, self.mac, self.kind = index, ifname, mac, kind
        self.up, self.mtu, self.peer_index = up, mtu, peer_index


def _attrs(data: bytes, start: int, end: int, wanted: frozenset[int]) -> dict[int, bytes]:
    """The first value of each attribute type in ``wanted``; stops once it has them all (the long AF_SPEC
    comes last and is never copied)."""
    found: dict[int, bytes] = {}
    offset = start
    while offset + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size or offset + length > end:
            raise ValueError("truncated rtattr")
        kind &= _NLA_TYPE_MASK
        if kind in wanted and kind not in found:
            found[kind] = data[offset + _RTATTR.size:offset + length]
            if len(found) == len(wanted):
                break
        offset += (length + 3) & ~3
    return found


def _string(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_link(message: bytes) -> LinkFields:
    """Fields of one RTM_NEWLINK message (netlink header included); ValueError when it is malformed."""
    if len(message) < _NLMSGHDR.size + _IFINFOMSG.size:
        raise ValueError("link message too short")
    length = min(_NLMSGHDR.unpack_from(message)[0], len(message))
    _, _, index, flags, _ = _IFINFOMSG.unpack_from(message, _NLMSGHDR.size)
    attrs = _attrs(message, _NLMSGHDR.size + _IFINFOMSG.size, length, _LINK_WANTED)
    info = attrs.get(IFLA_LINKINFO)
    kind = _string(_attrs(info, 0, len(info), _INFO_WANTED).get(IFLA_INFO_KIND, b"")) if info else ""
    mac = attrs.get(IFLA_ADDRESS, b"")
    mtu, peer = attrs.get(IFLA_MTU), attrs.get(IFLA_LINK)
    return LinkFields(
        index=index,
        ifname=_string(attrs.get(IFLA_IFNAME, b"")),
        mac=":".join(f"{b:02x}" for b in mac),
        kind=kind,
        up=bool(flags & IFF_UP),
        mtu=_U32.unpack(mtu)[0] if mtu and len(mtu) == 4 else 0,
        peer_index=_U32.unpack(peer)[0] if peer and len(peer) == 4 else None,
    )
