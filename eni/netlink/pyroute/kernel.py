"""Numbers from the Linux rtnetlink UAPI (linux/rtnetlink.h, if_link.h, neighbour.h, fib_rules.h) used here.

Named once so requests read like the `ip` commands they stand for. Plain constants, no behaviour.
"""

from __future__ import annotations

__all__ = [
    "FR_ACT_TO_TBL",
    "IFA_F_NOPREFIXROUTE",
    "IFF_UP",
    "NUD_PERMANENT",
    "RTM_DELLINK",
    "RTM_DELROUTE",
    "RTM_DELRULE",
    "RTM_GETLINK",
    "RTM_NEWADDR",
    "RTM_NEWLINK",
    "RTM_NEWNEIGH",
    "RTM_NEWROUTE",
    "RTM_NEWRULE",
    "RTNH_F_ONLINK",
    "RTN_UNICAST",
    "RTPROT_STATIC",
    "RT_SCOPE_LINK",
    "RT_SCOPE_NOWHERE",
    "RT_SCOPE_UNIVERSE",
    "RT_TABLE_MAIN",
]

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR = 20
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
RTM_NEWNEIGH = 28
RTM_NEWRULE, RTM_DELRULE = 32, 33

IFF_UP = 0x1
IFA_F_NOPREFIXROUTE = 0x200
NUD_PERMANENT = 0x80
RTNH_F_ONLINK = 0x4
RTN_UNICAST = 1
RTPROT_STATIC = 4
FR_ACT_TO_TBL = 1

RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
"""On delete: match a route of any scope (what `ip route del` sends)."""

RT_TABLE_MAIN = 254
