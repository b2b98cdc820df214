"""What a node has now: its recorded ENIs that the cloud shows attached, shared and exclusive apart.

Interrupted VpcENI phases are resumed on the way (``EniLifecycle.resume``), so the model only holds ENIs
that are attached to the node. Exclusive ENIs in the middle of being kept for their static pod (the
``kept-since`` annotation, ``eni.controllers.directeni.keep``) are handed back separately: the static pass
finishes keeping them instead of resuming them. So are the Releasing VpcIPs whose address an ENI attached
here no longer holds: their unassign (or move) took effect but its reply was lost, and the caller decides
whether the record goes. Reads the cloud and the records; writes only what resuming an interrupted phase
writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eni.api.v1 import EniType, IPState, NodeENIConfig, VpcENI, VpcENIPhase, VpcIP, VpcIPPhase
from eni.cloud.errors import QuotaExceeded
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import Eni, EniId, InstanceId
from eni.controllers.directeni.keep import being_kept
from eni.controllers.directeni.model import DirectEni, direct_eni, published_direct
from eni.controllers.eni.ips import IpLifecycle
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls
from eni.controllers.nec.intents import pending_assign, pending_eni

from .model import WorkingEni, working_eni


@dataclass
class Observed:
    work: dict[str, WorkingEni] = field(default_factory=dict)
    """Shared ENIs by id."""
    direct: dict[str, DirectEni] = field(default_factory=dict)
    """Exclusive ENIs by id."""
    keeping: list[VpcENI] = field(default_factory=list)
    """Exclusive ENIs whose keeping for their static pod was interrupted."""
    left: list[VpcIP] = field(default_factory=list)
    """Releasing VpcIPs of an ENI attached here that the cloud no longer shows on it."""


def observe(name: str, nec: NodeENIConfig, *, records: Records, vpc: VpcApi, calls: CloudCalls,
            enis: EniLifecycle) -> Observed:
    """The node's managed ENIs (see the module docstring)."""
    out = Observed()
    recorded = records.enis_of(name)
    if not recorded:
        return out  # the model holds recorded ENIs only: a node without any needs no describe
    instance_id = nec.spec.instance_id
    described = calls.call("DescribeNetworkInterfaces",
                           lambda: vpc.describe_enis(instance_id=InstanceId(instance_id)))
    attached: dict[str, Eni] = {e.id: e for e in described if not e.primary}
    recorded_ips = {ip.name: ip for ip in records.ips_of(name)}
    releasing = set(nec.status.ips_in_state(IPState.RELEASING))
    releasing |= {a for a, ip in recorded_ips.items() if ip.status.phase is VpcIPPhase.RELEASING}
    published = published_direct(nec)
    out.left = released_in_cloud(recorded_ips.values(), attached)
    for record in recorded:
        direct = record.spec.type is EniType.DIRECT
        if direct and being_kept(record):
            out.keeping.append(record)
            continue
        cloud = attached.get(record.name)
        if record.status.phase is not VpcENIPhase.ATTACHED or cloud is None:
            if not enis.resume(record, cloud, instance_id):
                continue
            again = vpc.describe_enis(eni_ids=[EniId(record.name)])
            if not again:
                continue
            cloud = again[0]
        if direct:
            out.direct[cloud.id] = direct_eni(cloud, record, published)
        else:
            out.work[cloud.id] = working_eni(cloud, recorded=recorded_ips, releasing=releasing)
    return out


def released_in_cloud(recorded: Iterable[VpcIP], attached: Mapping[str, Eni]) -> list[VpcIP]:
    """The Releasing records whose ENI is attached here but holds their address no more."""
    left = []
    for record in recorded:
        eni = attached.get(record.spec.eni_id)
        if record.status.phase is VpcIPPhase.RELEASING and eni is not None \
                and all(ip.address != record.name for ip in eni.private_ips):
            left.append(record)
    return left


def resume_intents(name: str, nec: NodeENIConfig, annotations: Mapping[str, str], *, vpc: VpcApi,
                   enis: EniLifecycle, ips: IpLifecycle, security_groups: Sequence[str]) -> None:
    """Finish the cloud calls a previous pass recorded on the NEC but may not have seen through."""
    eni_intent = pending_eni(annotations)
    if eni_intent is not None:
        try:
            enis.finish_pending(eni_intent, node=name, instance_id=nec.spec.instance_id,
                                security_groups=security_groups)
        except QuotaExceeded:
            if not eni_intent.direct:
                raise  # the exclusive ENI the instance refused is deleted already; the pass reports the limit
    ip_intent = pending_assign(annotations)
    if ip_intent is not None:
        found = vpc.describe_enis(eni_ids=[EniId(ip_intent.eni_id)])
        ips.finish_pending(ip_intent, node=name, subnet_id=found[0].subnet_id if found else "")
