"""EipCloud: the EIP controller's cloud calls, counted, with an account-wide quota hold-off.

Once the cloud says the account holds all the EIPs it may (``QuotaExceeded``), no claim asks again
for ``quota_retry_interval`` seconds: the reconcilers see ``quota_wait() > 0`` and wait instead of
calling. Any release through this object lifts the hold-off (it frees a slot). Unbinding an EIP that
is already unbound and releasing one that is already gone count as done, so cleanup is idempotent.
It never decides which EIP to use; the reconciler does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from eni.cloud.errors import Conflict, NotFound, QuotaExceeded
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import Eip, EipId, EipState, EniId
from eni.runtime.clock import Clock

from .metrics import EipMetrics


class EipCloud:
    """The controller's view of the cloud's EIPs. Thread-safe."""

    def __init__(self, vpc: VpcApi, *, metrics: EipMetrics, clock: Clock, quota_retry_interval: float) -> None:
        self._vpc = vpc
        self._metrics = metrics
        self._clock = clock
        self._quota_retry_interval = quota_retry_interval
        self._lock = threading.Lock()
        self._quota_until = 0.0
        self._quota_cause = ""

    def quota_wait(self) -> tuple[float, str]:
        """Seconds left before the next allocation may be tried (0 when none is held off), and the cloud's
        refusal that started the hold-off."""
        with self._lock:
            return max(0.0, self._quota_until - self._clock.monotonic()), self._quota_cause

    def allocate(self, *, intent: str, bandwidth: int, isp: str, tags: Mapping[str, str]) -> Eip | None:
        """One new (or, for a replayed intent, the same) EIP; None if the cloud returned none."""
        try:
            eips = self._metrics.count("allocate", lambda: self._vpc.allocate_eips(
                intent=intent, count=1, bandwidth=bandwidth, isp=isp, tags=tags))
        except QuotaExceeded as e:
            with self._lock:
                self._quota_until = self._clock.monotonic() + self._quota_retry_interval
                self._quota_cause = f"{e.code}: {e.message}"  # no request id: repeats aggregate into one Event
            raise
        return eips[0] if eips else None

    def describe(self, eip_ids: Sequence[str]) -> dict[str, Eip]:
        """The EIPs that exist among ``eip_ids``, by id."""
        if not eip_ids:
            return {}
        return {eip.id: eip for eip in self._vpc.describe_eips([EipId(i) for i in eip_ids])}

    def tagged(self, tags: Mapping[str, str]) -> tuple[Eip, ...]:
        """The EIPs carrying all ``tags``."""
        return self._vpc.describe_eips(tags=tags)

    def associate(self, eip_id: str, *, eni_id: str, private_ip: str) -> None:
        self._metrics.count("associate", lambda: self._vpc.associate_eip(
            EipId(eip_id), eni_id=EniId(eni_id), private_ip=private_ip))

    def disassociate(self, eip: Eip) -> None:
        """Unbind ``eip``; an EIP found unbound (or gone) meanwhile is fine."""
        if eip.state is EipState.UNBIND:
            return
        try:
            self._metrics.count("disassociate", lambda: self._vpc.disassociate_eip(eip.id))
        except (NotFound, Conflict):
            current = self.describe([eip.id]).get(eip.id)
            if current is not None and current.state is not EipState.UNBIND:
                raise

    def release(self, eip_id: str) -> None:
        """Release an unbound EIP; one already gone is fine."""
        try:
            self._metrics.count("release", lambda: self._vpc.release_eips([EipId(eip_id)]))
        except NotFound:
            pass
        with self._lock:
            self._quota_until = 0.0
