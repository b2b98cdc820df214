"""The extended resources tke-eni advertises to the kubelet, and the rules their names follow.

Each resource gets its own plugin, socket and device-id prefix. The names are part of the product's
public contract (pods request ``tke.cloud.tencent.com/eni-ip: 1``), so they are constants here and never
built from input. Validation mirrors the kubelet's own check (an extended resource name is a qualified
name with a domain outside ``kubernetes.io``), so a bad name fails at construction, not at Register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DEVICE_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SOCKET_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*\.sock$")

MAX_DEVICE_PREFIX_LEN = 40
"""Leaves room for ``-<index>`` within the API's 63-character device id limit."""


def is_extended_resource_name(name: str) -> bool:
    """Whether ``name`` is a resource name the kubelet accepts from a device plugin.

    >>> is_extended_resource_name("tke.cloud.tencent.com/eni-ip")
    True
    >>> is_extended_resource_name("kubernetes.io/eni-ip"), is_extended_resource_name("eni-ip")
    (False, False)
    """
    domain, sep, short = name.partition("/")
    if not sep or len(domain) > 253 or len(short) > 63:
        return False
    if not _DNS_SUBDOMAIN.match(domain) or not _QUALIFIED_NAME_PART.match(short):
        return False
    return domain != "kubernetes.io" and not domain.endswith(".kubernetes.io")


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """One extended resource: its name, the socket its plugin serves on, and its device-id prefix."""

    name: str
    """The extended resource name, e.g. ``tke.cloud.tencent.com/eni-ip``."""
    socket_name: str
    """File name of the plugin's socket in the kubelet's plugin folder; sent to the kubelet as ``endpoint``."""
    device_prefix: str
    """Device ids are ``<device_prefix>-<index>``."""

    def __post_init__(self) -> None:
        if not is_extended_resource_name(self.name):
            raise ValueError(f"not an extended resource name: {self.name!r}")
        if not _SOCKET_NAME.match(self.socket_name):
            raise ValueError(f"socket name must be a plain file name ending in .sock: {self.socket_name!r}")
        if len(self.device_prefix) > MAX_DEVICE_PREFIX_LEN or not _DEVICE_PREFIX.match(self.device_prefix):
            raise ValueError(f"invalid device id prefix: {self.device_prefix!r}")


ENI_IP = ResourceSpec(name="tke.cloud.tencent.com/eni-ip", socket_name="tke-eni-ip.sock", device_prefix="eni-ip")
"""Shared-ENI pod IPs: capacity = the node's max bindable IPs, allocatable = IPs actually bound."""

DIRECT_ENI = ResourceSpec(
    name="tke.cloud.tencent.com/direct-eni", socket_name="tke-direct-eni.sock", device_prefix="direct-eni"
)
"""Whole ENIs moved into pods (exclusive mode)."""

EIP = ResourceSpec(name="tke.cloud.tencent.com/eip", socket_name="tke-eip.sock", device_prefix="eip")
"""Elastic public IPs: capacity = the instance's EIP quota minus one (the primary's)."""

STANDARD_RESOURCES: tuple[ResourceSpec, ...] = (ENI_IP, DIRECT_ENI, EIP)
"""Every resource the agent advertises, one plugin each."""
