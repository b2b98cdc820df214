"""The working model of one node's exclusive ENIs during a reconcile, and their NEC status entries.

An exclusive ENI is managed when ipamd recorded it (VpcENI ``spec.type: direct``) and the cloud shows it
attached to the node. Its handshake state (Bound or Releasing) and, in static-IP mode, the pod it is for
are carried over from the NEC status and changed only by the passes. Values and rendering only: this
module must never call the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eni.api.v1 import EniType, IPState, NodeENI, NodeENIConfig, PodRef, VpcENI
from eni.cloud.types import Eni, Subnet


@dataclass
class DirectEni:
    """A managed exclusive ENI attached to the node."""

    eni: Eni
    record: VpcENI | None = None
    """Its VpcENI as read at the start of the pass (None for one created in this pass)."""
    state: IPState = IPState.BOUND
    pod: PodRef | None = None
    """Static-IP mode: the one pod that may get it."""

    @property
    def eni_id(self) -> str:
        return self.eni.id


def published_direct(nec: NodeENIConfig) -> dict[str, NodeENI]:
    """The exclusive ENIs of the NEC status by id: the handshake state the last pass published."""
    return {e.eni_id: e for e in nec.status.enis if e.type is EniType.DIRECT}


def direct_eni(eni: Eni, record: VpcENI, published: Mapping[str, NodeENI]) -> DirectEni:
    """The model of ``eni``, in the state (and for the pod) the NEC status shows; Bound when it is new there."""
    entry = published.get(eni.id)
    if entry is None:
        return DirectEni(eni=eni, record=record)
    return DirectEni(eni=eni, record=record, state=entry.state, pod=entry.pod)


def free_enis(enis: Iterable[DirectEni], *, in_use: Iterable[str]) -> list[DirectEni]:
    """Bound exclusive ENIs no pod holds, in id order (the order they are given back in)."""
    held = set(in_use)
    return sorted((d for d in enis if d.state is IPState.BOUND and d.eni_id not in held), key=lambda d: d.eni_id)


def render_direct(enis: Iterable[DirectEni], subnets: Mapping[str, Subnet]) -> tuple[NodeENI, ...]:
    """The NEC ``status.enis`` entries of exclusive ENIs: no secondary IPs, state and pod set."""
    rendered = []
    for d in enis:
        subnet = subnets.get(d.eni.subnet_id)
        rendered.append(NodeENI(
            eni_id=d.eni_id, mac=d.eni.mac, primary_ip=d.eni.primary_ip, subnet_id=d.eni.subnet_id,
            subnet_cidr=subnet.cidr if subnet else "", gateway=subnet.gateway if subnet else "",
            route_table_id=subnet.route_table_id if subnet else "", type=EniType.DIRECT,
            device_index=d.eni.attachment.device_index if d.eni.attachment else 0, state=d.state, pod=d.pod))
    return tuple(rendered)
