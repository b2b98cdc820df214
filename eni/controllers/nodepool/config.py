"""The node pool controller's settings, in plain values (cmd/ipamd maps its flags onto them)."""

from __future__ import annotations

from dataclasses import dataclass

from eni.api.v1.constants import WarmTargets
from eni.controllers.static.config import StaticConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolConfig:
    subnet_ids: tuple[str, ...]
    """Subnets for pod ENIs; each node uses those of its own zone."""
    ip_warm: WarmTargets = WarmTargets(min=5, max=5)
    """Default warm targets; NEC annotations override them per node."""
    eni_warm: WarmTargets = WarmTargets(min=1, max=1)
    """Default free exclusive-ENI window per node (non-static); NEC annotations override it per node."""
    quick_release: bool = False
    """Release all surplus at each tick instead of one IP."""
    release_interval: float = 120.0
    """Seconds between release ticks."""
    security_groups_enabled: bool = False
    security_group_ids: tuple[str, ...] = ()
    """Ordered groups for every node; empty: inherit the instance's primary ENI groups."""
    node_condition: bool = False
    """Also report ENILimitReached as a condition on the Node."""
    node_taint: bool = False
    """Taint the Node NoSchedule while it has no free IP and cannot get one (``nodefacts``)."""
    resync_interval: float = 30.0
    """Seconds after which a settled node is looked at again (cloud drift, agent reports)."""
    subnet_exhausted_backoff: float = 60.0
    """Seconds a subnet that reported exhaustion is skipped."""
    static: StaticConfig | None = None
    """Static-IP mode: no warm pool, IPs per pod claim (``eni.controllers.static``); None: non-static."""
    enable_ownerref: bool = False
    """Static-IP mode: a kept exclusive ENI records its pod's workload and goes with it."""

    def __post_init__(self) -> None:
        if not self.subnet_ids:
            raise ValueError("at least one subnet is required")
        if self.release_interval <= 0 or self.resync_interval <= 0:
            raise ValueError("release_interval and resync_interval must be > 0")
        if not 0 <= self.ip_warm.min <= self.ip_warm.max or not 0 <= self.eni_warm.min <= self.eni_warm.max:
            raise ValueError("warm targets need 0 <= min <= max")
