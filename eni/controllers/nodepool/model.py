"""The working model of one node during a reconcile: its managed ENIs, their IPs and IP states.

Built from the cloud (what is really attached and assigned) intersected with the records (VpcENI /
VpcIP: what ipamd knows it created), with each IP's handshake state carried over from the NEC
status. Only recorded IPs are ever published to the agent, so an IP the GC may unassign was never
handed out. The NEC status is rendered from this model. Must never call the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from eni.api.v1 import EniIP, IPState, NodeENI, PodRef
from eni.cloud.types import Eni, Subnet

from .planner import EniSlot


@dataclass
class WorkingEni:
    """A managed, attached ENI; ``bound``/``releasing`` hold secondary IPs in those states."""

    eni: Eni
    bound: list[str] = field(default_factory=list)
    releasing: list[str] = field(default_factory=list)

    @property
    def eni_id(self) -> str:
        return self.eni.id

    def slot(self) -> EniSlot:
        return EniSlot(eni_id=self.eni.id, subnet_id=self.eni.subnet_id, primary_ip=self.eni.primary_ip,
                       bound=tuple(self.bound), releasing=tuple(self.releasing))

    def mark_releasing(self, address: str) -> None:
        if address in self.bound:
            self.bound.remove(address)
            self.releasing.append(address)

    def drop(self, addresses: Collection[str]) -> None:
        self.bound = [ip for ip in self.bound if ip not in addresses]
        self.releasing = [ip for ip in self.releasing if ip not in addresses]


def working_eni(eni: Eni, *, recorded: Collection[str], releasing: Collection[str]) -> WorkingEni:
    """The model of ``eni``: its recorded secondary IPs, Releasing where the NEC status or VpcIP says so."""
    work = WorkingEni(eni=eni)
    for ip in eni.secondary_ips:
        if ip.address not in recorded:
            continue
        (work.releasing if ip.address in releasing else work.bound).append(ip.address)
    return work


def render_status(
    enis: Iterable[WorkingEni], subnets: dict[str, Subnet], reservations: Mapping[str, PodRef] | None = None,
) -> tuple[NodeENI, ...]:
    """The NEC's ``status.enis``: one entry per ENI in device order, IPs sorted by address.

    ``reservations`` (static-IP mode) names the pod each IP is reserved for.
    """
    reserved = reservations or {}
    rendered = []
    for work in sorted(enis, key=lambda w: ((w.eni.attachment.device_index if w.eni.attachment else 0), w.eni_id)):
        subnet = subnets.get(work.eni.subnet_id)
        ips = [EniIP(ip=ip, state=IPState.BOUND, pod=reserved.get(ip)) for ip in work.bound]
        ips += [EniIP(ip=ip, state=IPState.RELEASING, pod=reserved.get(ip)) for ip in work.releasing]
        rendered.append(NodeENI(
            eni_id=work.eni_id, mac=work.eni.mac, primary_ip=work.eni.primary_ip, subnet_id=work.eni.subnet_id,
            subnet_cidr=subnet.cidr if subnet else "", gateway=subnet.gateway if subnet else "",
            route_table_id=getattr(subnet, "route_table_id", "") or "",
            device_index=work.eni.attachment.device_index if work.eni.attachment else 0,
            ips=tuple(sorted(ips, key=lambda e: tuple(int(p) for p in e.ip.split(".")))),
        ))
    return tuple(rendered)
