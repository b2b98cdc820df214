"""The values the agent's service takes and returns: its settings, a CNI verb's request, and the results.

Why a module of their own: the edges (``eni.agent.handlers``), the GC and the tests build and read these without
needing the service's machinery. Values only: this module must never do I/O or hold state.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from eni.agent.directledger import DirectAllocation
from eni.agent.ledger import Allocation, AttachmentKey, PodRef
from eni.agent.podnet import LINK_LOCAL_GATEWAY, PodInterfaces

__all__ = ["AddResult", "DEFAULT_ROUTE", "IpamResult", "PodRequest", "ServiceSettings"]

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    default_mtu: int = 1500
    """MTU of pod interfaces when the network config does not name one."""
    gateway: IPv4Address = LINK_LOCAL_GATEWAY
    """The link-local next hop pods route through (answered by the host veth)."""
    static_ip_wait: float = 0.0
    """Seconds an ADD/Allocate waits for ipamd to list the pod's static IP before answering "try again later":
    the runtime's retries back off for seconds, the NEC usually brings the IP sooner. Keep it well under the
    plugins' timeout."""


@dataclass(frozen=True, slots=True)
class PodRequest:
    """A CNI verb's arguments: the attachment, the pod, the sandbox and the MTU (0: default)."""

    key: AttachmentKey
    pod: PodRef = PodRef()
    netns: str = ""
    mtu: int = 0


@dataclass(frozen=True, slots=True)
class IpamResult:
    allocation: Allocation
    address: IPv4Interface
    gateway: IPv4Address
    routes: tuple[IPv4Network, ...] = (DEFAULT_ROUTE,)


@dataclass(frozen=True, slots=True)
class AddResult:
    allocation: Allocation | DirectAllocation
    interfaces: PodInterfaces
    netns: str
    address: IPv4Interface
    gateway: IPv4Address
    routes: tuple[IPv4Network, ...] = (DEFAULT_ROUTE,)
