"""``TencentVpc``: the ``VpcApi`` over tencentcloud-sdk-python.

This is the adapter's front door. It wires the pieces (rate limiter, caller with retries and metrics,
task waiter, describe caches) and inherits the domain methods from ``EniMethods``, ``IpMethods`` and
``EipMethods``; subnets, instances and limits live here. Build it with ``TencentVpc.from_settings``;
tests may pass their own SDK client factory and clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from eni.cloud.tencent.cache import DescribeCache
from eni.cloud.tencent.caller import ApiCaller, SdkClientFactory
from eni.cloud.tencent.convert import instance_from, limits_from, parse, subnet_from
from eni.cloud.tencent.core import AdapterCore
from eni.cloud.tencent.eips import EipMethods
from eni.cloud.tencent.enis import EniMethods
from eni.cloud.tencent.ips import IpMethods
from eni.cloud.tencent.metrics import CloudMetrics
from eni.cloud.tencent.ratelimit import Clock, RateLimiter, SystemClock
from eni.cloud.tencent.sdk import sdk_client_factory
from eni.cloud.tencent.settings import Credentials, TencentSettings
from eni.cloud.tencent.tasks import TaskWaiter
from eni.cloud.types import Eni, EniLimits, Instance, InstanceId, Subnet, SubnetId, VpcId

__all__ = ["TencentVpc"]

_MAX_INSTANCE_IDS = 100


class TencentVpc(EniMethods, IpMethods, EipMethods):
    """The Tencent Cloud implementation of ``eni.cloud.interfaces.VpcApi``; thread-safe."""

    def __init__(
        self,
        settings: TencentSettings,
        *,
        client_factory: SdkClientFactory,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
    ) -> None:
        clock = clock or SystemClock()
        self.settings = settings
        self.metrics = CloudMetrics(registry)
        limiter = RateLimiter(
            cluster_qps=settings.qps,
            cluster_burst=settings.burst,
            action_qps=settings.action_qps,
            default_action_qps=settings.default_action_qps,
            clock=clock,
        )
        caller = ApiCaller(
            settings=settings, client_factory=client_factory, limiter=limiter, metrics=self.metrics, clock=clock
        )
        tasks = TaskWaiter(
            caller=caller, clock=clock, timeout=settings.task_timeout, poll_interval=settings.task_poll_interval
        )
        ttl = settings.describe_cache_ttl
        cache = DescribeCache(
            ttls={"eni": ttl, "subnet": ttl, "instance": ttl, "eip": ttl, "limits": settings.limits_cache_ttl},
            clock=clock,
        )
        self._core = AdapterCore(settings=settings, caller=caller, tasks=tasks, cache=cache)

    @classmethod
    def from_settings(
        cls, settings: TencentSettings, credentials: Credentials, *, registry: CollectorRegistry | None = None
    ) -> TencentVpc:
        """The adapter with real SDK clients."""
        return cls(settings, client_factory=sdk_client_factory(settings, credentials), registry=registry)

    @property
    def cache(self) -> DescribeCache:
        """The describe caches (for tests and introspection)."""
        return self._core.cache

    def describe_eni_limits(self, instance_id: InstanceId) -> EniLimits:
        action = "DescribeNetworkInterfaceLimit"

        def load() -> EniLimits:
            return parse(action, limits_from, self._core.describe("vpc", action, {"InstanceId": instance_id}))

        return self._core.cache.get_or_load("limits", instance_id, load)

    def describe_subnets(
        self,
        subnet_ids: Sequence[SubnetId] | None = None,
        *,
        vpc_id: VpcId | None = None,
        zone: str | None = None,
    ) -> tuple[Subnet, ...]:
        params: dict[str, Any]
        if subnet_ids is not None:
            if vpc_id or zone:
                raise ValueError("subnet_ids cannot be combined with vpc_id or zone (the API refuses it)")
            if not subnet_ids:
                return ()
            params = {"SubnetIds": list(dict.fromkeys(subnet_ids))}
        else:
            filters = [{"Name": "vpc-id", "Values": [vpc_id or self.settings.vpc_id]}]
            if not filters[0]["Values"][0]:
                filters = []
            if zone:
                filters.append({"Name": "zone", "Values": [zone]})
            params = {"Filters": filters} if filters else {}
        action = "DescribeSubnets"

        def load() -> tuple[Subnet, ...]:
            raw = self._core.paged("vpc", action, params, "SubnetSet", string_paging=True)
            return tuple(parse(action, subnet_from, item) for item in raw)

        return self._core.cache.get_or_load("subnet", repr(sorted(params.items())), load)

    def describe_instances(self, instance_ids: Sequence[InstanceId]) -> tuple[Instance, ...]:
        ids = tuple(dict.fromkeys(instance_ids))
        if not ids:
            return ()
        if len(ids) > _MAX_INSTANCE_IDS:
            raise ValueError(f"at most {_MAX_INSTANCE_IDS} instance ids per call, got {len(ids)}")
        action = "DescribeInstances"

        def load() -> tuple[Instance, ...]:
            body = self._core.describe("cvm", action, {"InstanceIds": list(ids), "Limit": _MAX_INSTANCE_IDS})
            instances = [parse(action, instance_from, raw) for raw in body.get("InstanceSet") or ()]
            primaries = self._primary_enis([i.id for i in instances])
            return tuple(_with_primary(instance, primaries) for instance in instances)

        return self._core.cache.get_or_load("instance", ids, load)


def _with_primary(instance: Instance, primaries: dict[InstanceId, Eni]) -> Instance:
    eni = primaries.get(instance.id)
    if eni is None:
        return instance
    return dataclasses.replace(instance, primary_eni_id=eni.id, primary_mac=eni.mac)
