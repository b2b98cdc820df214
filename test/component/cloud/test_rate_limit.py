"""The client-side bucket paces a burst of 500 calls at its configured rate (measured by the emulator)."""

from __future__ import annotations

import bisect
import threading

import pytest

from eni.cloud.types import SubnetId

RATE = 200.0
BURST = 10
CALLS = 500
THREADS = 8


@pytest.mark.slow
def test_burst_of_500_calls_stays_at_or_under_the_rate(make_adapter, emulator) -> None:
    vpc = make_adapter(qps=RATE, burst=BURST, default_action_qps=10_000.0)
    per_thread = [CALLS // THREADS + (1 if i < CALLS % THREADS else 0) for i in range(THREADS)]
    errors: list[BaseException] = []

    def worker(count: int) -> None:
        try:
            for _ in range(count):
                vpc.describe_subnets([SubnetId("subnet-gz3a0001")])
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    times = sorted(r.time for r in emulator.calls.records("DescribeSubnets"))
    assert len(times) == CALLS
    # Over the whole burst: no faster than BURST + RATE * elapsed (a few in-flight calls of slack).
    elapsed = times[-1] - times[0]
    assert elapsed >= (CALLS - BURST - THREADS) / RATE
    # In every one-second window: at most RATE + BURST calls, plus the calls in flight.
    busiest = max(bisect.bisect_left(times, start + 1.0) - i for i, start in enumerate(times))
    assert busiest <= RATE + BURST + THREADS
    waited = vpc.metrics.registry.get_sample_value(
        "eni_cloud_api_rate_limit_wait_seconds_total", {"action": "DescribeSubnets"})
    assert waited is not None and waited > 0
