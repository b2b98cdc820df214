"""EipCloud: idempotent cleanup, the account-wide quota hold-off, and the operation counters."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry

from eni.cloud.errors import Conflict, QuotaExceeded
from eni.cloud.fake import FakeVpc
from eni.cloud.types import EipId, EipState
from eni.controllers.eip.cloud import EipCloud
from eni.controllers.eip.metrics import EipMetrics
from eni.runtime.testing import FakeClock


def make(quota: int = 2):
    vpc, clock = FakeVpc(eip_quota=quota), FakeClock()
    metrics = EipMetrics(CollectorRegistry())
    return vpc, clock, metrics, EipCloud(vpc, metrics=metrics, clock=clock, quota_retry_interval=60.0)


def test_release_of_a_gone_eip_and_unbind_of_an_unbound_one_are_done() -> None:
    vpc, _, metrics, cloud = make()
    eip = cloud.allocate(intent="a", bandwidth=1, isp="BGP", tags={})
    assert eip is not None
    cloud.disassociate(eip)  # unbound already: no call at all
    assert "disassociate_eip" not in vpc.calls
    cloud.release(eip.id)
    cloud.release(eip.id)
    assert vpc.describe_eips() == ()
    assert metrics.value("release") == 1 and metrics.value("release", "NotFound") == 1


def test_unbind_raced_by_someone_else_counts_as_done_only_when_really_unbound() -> None:
    vpc, _, _, cloud = make()
    eip = cloud.allocate(intent="a", bandwidth=1, isp="BGP", tags={})
    assert eip is not None
    stale_bound = dataclasses.replace(eip, state=EipState.BIND_ENI)  # what an earlier describe said
    cloud.disassociate(stale_bound)  # the cloud says "not bound": and indeed it is not
    assert cloud.describe([eip.id])[eip.id].state is EipState.UNBIND

    def refuse(method, arguments):
        if method == "disassociate_eip":
            raise Conflict("InvalidAddressState", "busy binding")

    vpc.interceptor = refuse
    vpc.describe_eips = lambda *a, **k: (stale_bound,)  # still bound as far as the cloud is concerned
    with pytest.raises(Conflict):
        cloud.disassociate(stale_bound)


def test_quota_holds_off_every_allocation_until_the_interval_passes_or_a_release() -> None:
    vpc, clock, metrics, cloud = make(quota=1)
    first = cloud.allocate(intent="a", bandwidth=1, isp="BGP", tags={})
    assert cloud.quota_wait() == (0.0, "")
    with pytest.raises(QuotaExceeded):
        cloud.allocate(intent="b", bandwidth=1, isp="BGP", tags={})
    wait, cause = cloud.quota_wait()
    assert wait == 60.0 and cause.startswith("AddressQuotaLimitExceeded: ") and "RequestId" not in cause
    clock.step(59.0)
    assert cloud.quota_wait()[0] == 1.0
    clock.step(1.0)
    assert cloud.quota_wait()[0] == 0.0
    with pytest.raises(QuotaExceeded):
        cloud.allocate(intent="b", bandwidth=1, isp="BGP", tags={})
    assert first is not None
    cloud.release(first.id)
    assert cloud.quota_wait()[0] == 0.0
    assert metrics.value("allocate", "QuotaExceeded") == 2
    assert cloud.describe([]) == {} and cloud.describe([EipId("eip-none")]) == {}
