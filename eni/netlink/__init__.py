"""Host networking: pod veth pairs, ENI route tables and rules, forwarding sysctls.

`eni.netlink.pyroute` is the only importer of pyroute2 (heavy: ~0.2 s); this package root re-exports only the
light, standard-library parts (values, errors, Protocols) that the agent codes against.
"""

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.interfaces import NodeNetwork, PodNetwork
from eni.netlink.types import (
    DEFAULT_POD_GATEWAY,
    ENI_RULE_PRIORITY,
    ENI_TABLE_OFFSET,
    FROM_POD_RULE_PRIORITY,
    ROUTE_PROTOCOL,
    TO_POD_RULE_PRIORITY,
    EniSpec,
    EniState,
    PodNetResult,
    PodNetSpec,
    eni_table,
)

__all__ = [
    "DEFAULT_POD_GATEWAY",
    "ENI_RULE_PRIORITY",
    "ENI_TABLE_OFFSET",
    "FROM_POD_RULE_PRIORITY",
    "ROUTE_PROTOCOL",
    "TO_POD_RULE_PRIORITY",
    "EniSpec",
    "EniState",
    "LinkNotFound",
    "NamespaceNotFound",
    "NetlinkError",
    "NodeNetwork",
    "PodNetResult",
    "PodNetSpec",
    "PodNetwork",
    "eni_table",
]
