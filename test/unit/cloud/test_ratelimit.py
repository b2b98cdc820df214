"""Token buckets: burst, pacing, reservation order and bounded waits, on a fake clock."""

from __future__ import annotations

import pytest

from eni.cloud.errors import Throttled
from eni.cloud.tencent.ratelimit import CLIENT_THROTTLE_CODE, RateLimiter, TokenBucket


def test_bucket_allows_burst_then_paces(clock) -> None:
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    waits = [bucket.reserve(max_wait=10) for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    # Reservations queue up: the 4th waits 0.1 s, the 5th 0.2 s, the 6th 0.3 s.
    assert waits[3:] == pytest.approx([0.1, 0.2, 0.3])


def test_bucket_refills_with_time_but_not_above_burst(clock) -> None:
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    assert bucket.reserve(max_wait=0) == 0.0
    assert bucket.reserve(max_wait=0) == 0.0
    assert bucket.reserve(max_wait=0) is None
    clock.step(100)
    assert [bucket.reserve(max_wait=0) for _ in range(3)] == [0.0, 0.0, None]


def test_refused_reservation_consumes_nothing(clock) -> None:
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.reserve(max_wait=0) == 0.0
    for _ in range(5):
        assert bucket.reserve(max_wait=0.5) is None
    assert bucket.reserve(max_wait=1.0) == pytest.approx(1.0)


def test_bucket_rejects_bad_parameters(clock) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, clock=clock)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0, clock=clock)


def _limiter(clock, **kw) -> RateLimiter:
    args = {"cluster_qps": 50.0, "cluster_burst": 5, "action_qps": {"ReleaseAddresses": 10.0},
            "default_action_qps": 100.0, "clock": clock}
    args.update(kw)
    return RateLimiter(**args)


def test_cluster_rate_bounds_all_actions(clock) -> None:
    limiter = _limiter(clock)
    start = clock.now
    for i in range(105):
        limiter.acquire("AssignPrivateIpAddresses" if i % 2 else "DescribeNetworkInterfaces", timeout=60)
    # 5 of burst, then 100 more at 50/s: two seconds.
    assert clock.now - start == pytest.approx(2.0)


def test_action_rate_is_lower_for_release_addresses(clock) -> None:
    limiter = _limiter(clock, cluster_qps=1000.0, cluster_burst=1000)
    start = clock.now
    for _ in range(30):
        limiter.acquire("ReleaseAddresses", timeout=60)
    # burst 10, then 20 more at 10/s.
    assert clock.now - start == pytest.approx(2.0)


def test_acquire_times_out_with_client_side_throttle(clock) -> None:
    limiter = _limiter(clock, cluster_qps=1.0, cluster_burst=1)
    limiter.acquire("DescribeSubnets", timeout=0)
    with pytest.raises(Throttled) as caught:
        limiter.acquire("DescribeSubnets", timeout=0.5)
    assert caught.value.code == CLIENT_THROTTLE_CODE
    # The refused call gave back its action token: after a second, the call goes through at once.
    clock.step(1.0)
    assert limiter.acquire("DescribeSubnets", timeout=0) == 0.0
