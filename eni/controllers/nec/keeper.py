"""Creates each node's NodeENIConfig and keeps its spec (instance, zone, subnets, limits) current.

The spec's security groups are filled once, at creation (``--security-groups`` in order, else the
instance's primary ENI groups in order); after that the NEC is the place to edit them. Limits are
recomputed at every reconcile from the cloud quota and the NEC annotations. This module writes only
the NEC's metadata and spec; the status belongs to the reconciler (and status.agent to the agent).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eni.api.v1 import NODE_ENI_CONFIG, NodeENIConfig, NodeENIConfigSpec, ObjectMeta
from eni.api.v1.codec import encode
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import InstanceId, Subnet, SubnetId
from eni.controllers.metrics import CloudCalls
from eni.runtime.client.errors import AlreadyExistsError, NotFoundError
from eni.runtime.client.interfaces import Client
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import ObjectKey

from .limits import NodeLimits
from .providerid import NodeInstance

SUBNETS_TTL = 2.0
"""Seconds one DescribeSubnets answer is reused for choosing where new ENIs go."""


class NecKeeper:
    """Get-or-create of NECs and their spec updates."""

    def __init__(self, client: Client, vpc: VpcApi, calls: CloudCalls, *, subnet_ids: Sequence[str],
                 security_group_ids: Sequence[str], clock: Clock = REAL_CLOCK) -> None:
        self._client = client
        self._vpc = vpc
        self._calls = calls
        self._subnet_ids = tuple(subnet_ids)
        self._security_group_ids = tuple(security_group_ids)
        self._clock = clock
        self._lock = threading.Lock()
        self._subnets: tuple[float, tuple[Subnet, ...]] | None = None

    def get(self, node: str) -> tuple[NodeENIConfig, dict[str, Any]] | None:
        """The NEC (decoded, and raw for its annotations), read live; None when there is none."""
        try:
            raw = self._client.get(NODE_ENI_CONFIG, ObjectKey(namespace="", name=node))
        except NotFoundError:
            return None
        return NodeENIConfig.from_dict(raw), raw

    def create(self, node: str, where: NodeInstance) -> tuple[NodeENIConfig, dict[str, Any]]:
        instances = self._calls.call("DescribeInstances",
                                     lambda: self._vpc.describe_instances([InstanceId(where.instance_id)]))
        instance = instances[0] if instances else None
        groups = self._security_group_ids or (tuple(instance.security_group_ids) if instance else ())
        nec = NodeENIConfig(
            metadata=ObjectMeta(name=node),
            spec=NodeENIConfigSpec(
                instance_id=where.instance_id, zone=where.zone,
                instance_type=instance.instance_type if instance else "",
                subnet_ids=tuple(s.id for s in self.zone_subnets(where.zone)),
                security_group_ids=tuple(groups),
            ),
        )
        try:
            self._client.create(NODE_ENI_CONFIG, nec.to_dict())
        except AlreadyExistsError:
            pass
        found = self.get(node)
        if found is None:
            raise RuntimeError(f"NodeENIConfig {node} vanished right after its creation")
        return found

    def zone_subnets(self, zone: str) -> list[Subnet]:
        """The configured subnets that lie in ``zone``, with free-IP counts at most ``SUBNETS_TTL`` old.

        One describe serves every node for that long: with many nodes starting at once the counts
        would otherwise cost a call per node, and a subnet that runs out is caught by its error anyway.
        """
        with self._lock:
            now = self._clock.monotonic()
            if self._subnets is None or now - self._subnets[0] >= SUBNETS_TTL:
                subnets = self._calls.call("DescribeSubnets", lambda: self._vpc.describe_subnets(
                    [SubnetId(s) for s in self._subnet_ids]))
                self._subnets = (now, subnets)
            return [s for s in self._subnets[1] if s.zone == zone]

    def update_limits(self, nec: NodeENIConfig, limits: NodeLimits) -> None:
        spec = nec.spec
        if (spec.max_eni, spec.max_ip_per_eni, spec.max_direct_eni, spec.eip_quota) == (
                limits.max_eni, limits.max_ip_per_eni, limits.max_direct_eni, limits.eip_quota):
            return
        patch = {"spec": {k: v for k, v in encode(NodeENIConfigSpec(
            instance_id=spec.instance_id, max_eni=limits.max_eni, max_ip_per_eni=limits.max_ip_per_eni,
            max_direct_eni=limits.max_direct_eni, eip_quota=limits.eip_quota)).items()
            if k in ("maxENI", "maxIPPerENI", "maxDirectENI", "eipQuota")}}
        self._client.patch(NODE_ENI_CONFIG, ObjectKey(namespace="", name=nec.name), patch)
