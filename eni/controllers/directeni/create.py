"""Creating one exclusive ENI for a node: subnet choice, create, attach as an extension ENI.

The VpcENI (``type: direct``) is written before the cloud call through the NEC intent, as for shared ENIs
(``EniLifecycle.create_direct``). When the instance refuses the attach (its ``ExtendEniQuantity`` is
used up) the just-created ENI is deleted again at once, so a refusal leaves nothing behind to retry.
Subnets that reported exhaustion are skipped for a while. Never creates without a chosen subnet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from eni.api.v1 import ObjectReference
from eni.cloud.errors import QuotaExceeded, SubnetExhausted
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import AttachType, Eni, EniAttachment, InstanceId, Subnet
from eni.controllers.eni.lifecycle import EniLifecycle
from eni.controllers.nodepool.growth import bump_seq
from eni.controllers.nodepool.planner import SubnetChoice, choose_subnet
from eni.runtime.clock import Clock


class NoSubnet(Exception):
    """None of the allowed subnets has a free IP (or each reported exhaustion lately)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRequest:
    node: str
    nec_uid: str
    instance_id: str
    security_groups: tuple[str, ...]
    owner: ObjectReference | None = None


class DirectCreator:
    """Creates and attaches exclusive ENIs; thread-safe."""

    def __init__(self, *, vpc: VpcApi, enis: EniLifecycle, clock: Clock, subnet_exhausted_backoff: float) -> None:
        self._vpc = vpc
        self._enis = enis
        self._clock = clock
        self._backoff = subnet_exhausted_backoff
        self._exhausted: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self, request: CreateRequest, *, annotations: dict[str, str], subnets: Iterable[Subnet]) -> Eni:
        """A new exclusive ENI attached to the node, in the allowed subnet with the most free IPs.

        Raises ``NoSubnet``, ``SubnetExhausted`` (that subnet is then skipped for a while), or
        ``QuotaExceeded`` (after deleting the ENI the instance would not take).
        """
        subnet_id = choose_subnet([SubnetChoice(s.id, s.available_ip_count) for s in subnets],
                                  exhausted=self._exhausted_now())
        if subnet_id is None:
            raise NoSubnet("no allowed subnet has a free IP")
        try:
            eni = self._enis.create_direct(node=request.node, nec_uid=request.nec_uid, annotations=annotations,
                                           instance_id=request.instance_id, subnet_id=subnet_id,
                                           security_groups=request.security_groups, owner=request.owner)
        except SubnetExhausted:
            with self._lock:
                self._exhausted[subnet_id] = self._clock.monotonic() + self._backoff
            raise
        finally:
            bump_seq(annotations)
        try:
            self._enis.attach(eni.id, request.instance_id, direct=True)
        except QuotaExceeded:  # the instance's extension-ENI quota: nothing to retry, nothing to keep
            self._enis.remove(eni.id, request.instance_id)
            raise
        described = self._vpc.describe_enis(eni_ids=[eni.id])  # the device index the attach gave it
        if described and described[0].attachment is not None:
            return described[0]
        return replace(eni, attachment=EniAttachment(InstanceId(request.instance_id), 0, AttachType.EXTENSION))

    def _exhausted_now(self) -> set[str]:
        now = self._clock.monotonic()
        with self._lock:
            return {s for s, until in self._exhausted.items() if until > now}
