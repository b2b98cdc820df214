"""Where an address is: on which working ENI, in which subnet. Pure functions; no API or cloud calls."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace

from eni.cloud.types import Eni, EniAttachment, InstanceId, Subnet
from eni.controllers.nodepool.model import WorkingEni


def eni_holding(work: Iterable[WorkingEni], address: str) -> WorkingEni | None:
    """The ENI whose recorded IPs (Bound or Releasing) include ``address``."""
    return next((w for w in work if address in w.bound or address in w.releasing), None)


def eni_in_cloud_holding(work: Iterable[WorkingEni], address: str) -> WorkingEni | None:
    """The ENI the cloud shows ``address`` on, recorded or not."""
    return next((w for w in work if any(ip.address == address for ip in w.eni.secondary_ips)), None)


def subnet_holding(subnets: Iterable[Subnet], address: str) -> str | None:
    """The subnet whose CIDR contains ``address``.

    >>> from eni.cloud.types import SubnetId, VpcId
    >>> subnet_holding([Subnet(SubnetId("subnet-1"), "10.0.1.0/24", "z", 9, VpcId("v"))], "10.0.1.7")
    'subnet-1'
    """
    ip = ipaddress.IPv4Address(address)
    return next((s.id for s in subnets if ip in ipaddress.IPv4Network(s.cidr)), None)


def just_attached(eni: Eni, instance_id: str) -> Eni:
    """A just-attached ENI; its device index is read back by the next pass's describe."""
    return replace(eni, attachment=EniAttachment(InstanceId(instance_id), 0))
