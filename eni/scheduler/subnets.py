"""Two sources of subnets' zones and free IPs for the extender: the cluster's objects, or the cloud.

``ClusterSubnets`` derives them from what the cluster holds: a subnet's size comes from its CIDR (as its
ENIs report it) minus the addresses the VPC reserves, and its use from the ENIs and VpcIPs in it. It cannot
see addresses used outside the cluster, which is why ``CloudSubnets`` exists: it refreshes
``DescribeSubnets`` in the background (never per request) for every subnet the cluster mentions, and between
refreshes subtracts what the cluster took since. A subnet the cloud has not described (yet) falls back to
the cluster's view, so a cloud outage degrades answers instead of failing them.
Both answer ``snapshot()`` from memory; neither writes anything anywhere.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from eni.cloud.errors import CloudError
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import Subnet, SubnetId
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.scheduler.index import ClusterIndex, SubnetUsage
from eni.scheduler.model import RESERVED_ADDRESSES_PER_SUBNET, SubnetInfo

log = logging.getLogger(__name__)


def addresses_in(cidr: str) -> int | None:
    """Addresses the VPC can hand out in ``cidr``; None when it is not a valid IPv4 CIDR.

    >>> addresses_in("10.0.1.0/24"), addresses_in("bogus")
    (253, None)
    """
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        return None
    return max(0, network.num_addresses - RESERVED_ADDRESSES_PER_SUBNET)


def derived_info(subnet: str, usage: SubnetUsage) -> SubnetInfo:
    size = addresses_in(usage.cidr) if usage.cidr else None
    free = None if size is None else max(0, size - usage.used)
    return SubnetInfo(id=subnet, zone=usage.zone, free_ips=free, cidr=usage.cidr)


class ClusterSubnets:
    """Subnet capacity judged from the cluster's own objects only (no cloud access)."""

    def __init__(self, index: ClusterIndex) -> None:
        self._index = index
        self._lock = threading.Lock()
        self._cached: tuple[int, Mapping[str, SubnetInfo]] = (-1, {})

    def snapshot(self) -> Mapping[str, SubnetInfo]:
        version = self._index.version
        cached_version, cached = self._cached
        if cached_version == version:
            return cached
        with self._lock:
            infos = {subnet: derived_info(subnet, usage) for subnet, usage in self._index.subnet_usage().items()}
            self._cached = (version, infos)
            return infos


@dataclass(frozen=True, slots=True)
class _Described:
    subnet: Subnet
    used_then: int
    """The cluster's own use of the subnet when the cloud counted it."""


class CloudSubnets:
    """Subnet capacity from periodic ``describe_subnets`` calls, adjusted by the cluster's use since."""

    def __init__(self, vpc: VpcApi, index: ClusterIndex, *, interval: float = 30.0, clock: Clock = REAL_CLOCK,
                 registry: CollectorRegistry | None = None) -> None:
        if interval <= 0:
            raise ValueError("the refresh interval must be positive")
        self._vpc = vpc
        self._index = index
        self._interval = interval
        self._clock = clock
        self._described: dict[str, _Described] = {}
        self.last_success: float | None = None
        """Monotonic time of the last successful refresh; None before the first."""
        self.last_error: str = ""
        if registry is not None:
            Gauge("eni_scheduler_subnets_refresh_age_seconds",
                  "Seconds since subnets' free IPs were last read from the cloud (-1: never).",
                  registry=registry).set_function(self.age)
            self._failures: Counter | None = Counter("eni_scheduler_subnets_refresh_failures",
                                                     "Subnet refreshes the cloud failed.", registry=registry)
        else:
            self._failures = None

    def age(self) -> float:
        """Seconds since the last successful refresh; -1 before the first."""
        return -1.0 if self.last_success is None else self._clock.monotonic() - self.last_success

    def snapshot(self) -> Mapping[str, SubnetInfo]:
        described = self._described
        usage = self._index.subnet_usage()
        infos = {subnet: derived_info(subnet, use) for subnet, use in usage.items()}
        for subnet, entry in described.items():
            taken_since = max(0, (usage[subnet].used if subnet in usage else 0) - entry.used_then)
            infos[subnet] = SubnetInfo(id=subnet, zone=entry.subnet.zone or (infos[subnet].zone if subnet in infos
                                                                              else ""),
                                       free_ips=max(0, entry.subnet.available_ip_count - taken_since),
                                       cidr=entry.subnet.cidr)
        return infos

    def refresh(self) -> bool:
        """Describe every subnet the cluster mentions now; False (keeping the last counts) when the cloud fails."""
        usage = self._index.subnet_usage()
        ids = sorted(usage)
        if not ids:
            self.last_success = self._clock.monotonic()
            return True
        try:
            subnets = self._vpc.describe_subnets([SubnetId(subnet) for subnet in ids])
        except CloudError as e:
            self.last_error = f"{type(e).__name__}: {e}"
            if self._failures is not None:
                self._failures.inc()
            log.warning("Could not refresh subnets' free IPs", extra={"kv": {"error": self.last_error}})
            return False
        fresh = dict(self._described)
        for subnet in subnets:
            fresh[subnet.id] = _Described(subnet=subnet, used_then=usage[subnet.id].used if subnet.id in usage else 0)
        self._described = fresh
        self.last_success, self.last_error = self._clock.monotonic(), ""
        return True

    def run(self, stop: threading.Event) -> None:
        """Refresh now and then every interval until ``stop`` is set."""
        while not stop.is_set():
            self.refresh()
            if self._clock.wait(stop, self._interval):
                return
