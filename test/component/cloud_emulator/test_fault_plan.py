"""The fault plan on its own, with a fake clock: QPS windows, counters and validation (no sleeps)."""

from __future__ import annotations

import pytest

from eni.cloud.emulator import ActionFaults, Faults


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_qps_window_slides_with_the_clock():
    clock = FakeClock()
    faults = Faults(seed=1, clock=clock)
    faults.throttle("AssignPrivateIpAddresses", qps=2)
    outcomes = [faults.decide("AssignPrivateIpAddresses").error_code for _ in range(4)]
    assert outcomes == ["", "", "RequestLimitExceeded", "RequestLimitExceeded"]
    assert faults.decide("DescribeSubnets").error_code == ""
    clock.now += 0.5
    assert faults.decide("AssignPrivateIpAddresses").error_code == "RequestLimitExceeded"
    clock.now += 0.6  # the first two calls left the window
    assert [faults.decide("AssignPrivateIpAddresses").error_code for _ in range(3)] == [
        "", "", "RequestLimitExceeded"]


def test_wildcard_and_specific_rules_both_apply():
    faults = Faults(seed=1, clock=FakeClock())
    faults.latency(seconds=0.2)
    faults.latency("DescribeSubnets", seconds=0.5)
    assert faults.decide("DescribeSubnets").latency == 0.5
    assert faults.decide("DescribeAddresses").latency == 0.2
    faults.internal_error("DescribeAddresses", probability=1.0)
    assert faults.decide("DescribeAddresses").error_code == "InternalError"
    faults.drop_connections(probability=1.0)
    assert faults.decide("DescribeSubnets").drop
    faults.clear()
    assert faults.decide("DescribeAddresses") == faults.decide("DescribeSubnets")
    assert not faults.decide("DescribeSubnets").drop


def test_task_failures_next_n_then_probability():
    faults = Faults(seed=3, clock=FakeClock())
    faults.fail_tasks(next_n=2)
    assert [faults.decide_task_failure() for _ in range(3)] == [True, True, False]
    faults.fail_tasks(probability=0.5)
    rolls = [faults.decide_task_failure() for _ in range(200)]
    assert 60 < sum(rolls) < 140


def test_probabilistic_throttle_rate():
    faults = Faults(seed=5, clock=FakeClock())
    faults.throttle(probability=0.25, code="LimitExceeded.ActionLimited")
    codes = [faults.decide("X").error_code for _ in range(400)]
    assert set(codes) == {"", "LimitExceeded.ActionLimited"}
    assert 60 < codes.count("LimitExceeded.ActionLimited") < 140


def test_invalid_plans_change_nothing():
    faults = Faults(seed=1, clock=FakeClock())
    faults.update({"actions": {"A": {"latency": 0.1}}, "failNextTasks": 1})
    before = faults.to_dict()
    for bad in ({"actions": {"A": {"latency": -1}}}, {"actions": {"B": {"throttle_code": "Nope"}}},
                {"actions": "x"}, {"actions": {"A": {"latency": 0.3}}, "failNextTasks": -1},
                {"taskFailureProbability": 2}):
        with pytest.raises(ValueError):
            faults.update(bad)
    assert faults.to_dict() == before
    with pytest.raises(ValueError):
        ActionFaults(drop_probability=-0.1)


def test_documented_limits():
    clock = FakeClock()
    faults = Faults(seed=1, clock=clock)
    faults.apply_documented_limits()
    assert [faults.decide("AssignPrivateIpAddresses").error_code for _ in range(101)].count("") == 100
    assert [faults.decide("ReleaseAddresses").error_code for _ in range(11)][-1] == "RequestLimitExceeded"
    assert faults.decide("DescribeSubnets").error_code == ""
    clock.now += 1.0
    assert faults.decide("AssignPrivateIpAddresses").error_code == ""
