"""EipSettings: how ipamd's EIP controller behaves; built by cmd/ipamd from its flags.

Values only, validated once at construction: a bad setting fails the process at start, never a
reconcile later. Must never read flags or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from eni.api.v1.constants import MIN_CLAIM_EXPIRED_DURATION
from eni.runtime.clock import REAL_CLOCK, Clock

CLUSTER_TAG_KEY = "tke-clusterId"
"""Cloud tag naming the cluster (the Tencent adapter's marker tag, repeated so every VpcApi sees it)."""
CREATED_BY_TAG_KEY = "tke-createdBy"
CREATED_BY_TAG_VALUE = "tke-eni-ipamd"
CLAIM_TAG_KEY = "tke-eipClaimUID"
"""Cloud tag carrying the uid of the EIPClaim an EIP was allocated for: only EIPs carrying it are released."""
POD_TAG_KEY = "tke-eipClaim"
"""Cloud tag with ``namespace/name`` of the claim, for operators looking at the console."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EipSettings:
    """Settings of the EIP controller."""

    cluster_id: str
    """The cluster's id; tags every allocated EIP."""
    enable_ownerref: bool = False
    """Make each claim owned by its pod's workload (Deployment or StatefulSet) so it goes with it."""
    claim_expired_duration: timedelta | None = None
    """How long a retained EIP outlives its pod when the pod does not say (at least 5m); None: forever."""
    clock: Clock = REAL_CLOCK
    """Wall-clock source for expiry; tests pass a FakeClock."""
    quota_retry_interval: float = 300.0
    """Seconds between allocation attempts once the account's EIP quota was hit."""
    ip_wait_interval: float = 30.0
    """Seconds between looks for a pod's IP on its node's ENIs (NEC changes also trigger a look)."""
    error_retry_interval: float = 60.0
    """Seconds before retrying after a cloud error that retrying at once cannot fix."""
    workers: int = 2
    """Reconcile threads of the controller."""

    def __post_init__(self) -> None:
        if not self.cluster_id:
            raise ValueError("cluster_id must not be empty")
        if self.claim_expired_duration is not None and self.claim_expired_duration < MIN_CLAIM_EXPIRED_DURATION:
            raise ValueError(f"claim_expired_duration must be at least {MIN_CLAIM_EXPIRED_DURATION}, "
                             f"got {self.claim_expired_duration}")
        for name in ("quota_retry_interval", "ip_wait_interval", "error_retry_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    def cloud_tags(self, *, claim_uid: str, claim_key: str) -> dict[str, str]:
        """The tags of an EIP allocated for one claim."""
        return {CLUSTER_TAG_KEY: self.cluster_id, CREATED_BY_TAG_KEY: CREATED_BY_TAG_VALUE,
                CLAIM_TAG_KEY: claim_uid, POD_TAG_KEY: claim_key}
