"""The device-list maths: counts → devices, id parsing, request validation, preferred allocation."""

import pytest

from eni.agent.deviceplugin import (
    HEALTHY,
    MAX_DEVICES,
    UNHEALTHY,
    AdvertisedDevice,
    DeviceCounts,
    InvalidDeviceCountsError,
    InvalidDeviceRequestError,
    advertised_devices,
    check_device_ids,
)
from eni.agent.deviceplugin.devices import parse_device_index, preferred_allocation


@pytest.mark.parametrize(
    ("capacity", "healthy"),
    [(-1, 0), (3, 4), (3, -1), (MAX_DEVICES + 1, 0), (True, 0), (3, 1.0), ("3", 1)],
)
def test_impossible_counts_are_rejected(capacity, healthy):
    with pytest.raises(InvalidDeviceCountsError):
        DeviceCounts(capacity=capacity, healthy=healthy)


@pytest.mark.parametrize(("capacity", "healthy"), [(0, 0), (5, 0), (5, 5), (MAX_DEVICES, 1)])
def test_possible_counts_are_accepted(capacity, healthy):
    assert DeviceCounts(capacity=capacity, healthy=healthy).capacity == capacity


@pytest.mark.parametrize(("capacity", "healthy"), [(0, 0), (1, 0), (1, 1), (4, 2), (30, 17), (30, 30)])
def test_kubelet_sees_capacity_devices_of_which_healthy_are_usable(capacity, healthy):
    devices = advertised_devices("eni-ip", DeviceCounts(capacity=capacity, healthy=healthy))

    assert len(devices) == capacity
    assert sum(d.health == HEALTHY for d in devices) == healthy
    assert sum(d.health == UNHEALTHY for d in devices) == capacity - healthy
    assert len({d.id for d in devices}) == capacity
    assert all(len(d.id) <= 63 for d in devices)


def test_device_list_is_exact():
    assert advertised_devices("eip", DeviceCounts(capacity=3, healthy=1)) == (
        AdvertisedDevice(id="eip-0", health=HEALTHY),
        AdvertisedDevice(id="eip-1", health=UNHEALTHY),
        AdvertisedDevice(id="eip-2", health=UNHEALTHY),
    )


def test_growing_and_shrinking_never_renames_a_device():
    small = advertised_devices("eni-ip", DeviceCounts(capacity=10, healthy=3))
    grown = advertised_devices("eni-ip", DeviceCounts(capacity=12, healthy=8))
    shrunk = advertised_devices("eni-ip", DeviceCounts(capacity=12, healthy=2))

    assert [d.id for d in grown[:10]] == [d.id for d in small]
    assert {d.id for d in grown if d.health == HEALTHY} >= {d.id for d in small if d.health == HEALTHY}
    assert {d.id for d in shrunk if d.health == HEALTHY} == {"eni-ip-0", "eni-ip-1"}


@pytest.mark.parametrize(
    ("candidate", "index"),
    [
        ("eni-ip-0", 0),
        ("eni-ip-42", 42),
        ("eni-ip-042", None),
        ("eni-ip-", None),
        ("eni-ip--1", None),
        ("eni-ip-1 ", None),
        ("eni-ip-１", None),  # a full-width digit is not an ASCII index
        ("eip-1", None),
        ("eni-ip-9999999", None),
        ("", None),
    ],
)
def test_parse_device_index(candidate, index):
    assert parse_device_index("eni-ip", candidate) == index


COUNTS = DeviceCounts(capacity=4, healthy=2)


@pytest.mark.parametrize(
    ("ids", "require_healthy", "message"),
    [
        ([], False, "names no device"),
        (["eni-ip-4"], False, "unknown device id"),
        (["eip-0"], False, "unknown device id"),
        (["garbage\x00"], False, "unknown device id"),
        (["eni-ip-0", "eni-ip-0"], False, "named twice"),
        (["eni-ip-2"], True, "not usable now"),
        (["eni-ip-1", "eni-ip-3"], True, "not usable now"),
    ],
)
def test_invalid_device_requests(ids, require_healthy, message):
    with pytest.raises(InvalidDeviceRequestError, match=message):
        check_device_ids("eni-ip", COUNTS, ids, require_healthy=require_healthy)


@pytest.mark.parametrize(
    ("ids", "require_healthy"),
    [(["eni-ip-0"], True), (["eni-ip-1", "eni-ip-0"], True), (["eni-ip-3"], False), (["eni-ip-0", "eni-ip-3"], False)],
)
def test_valid_device_requests(ids, require_healthy):
    check_device_ids("eni-ip", COUNTS, ids, require_healthy=require_healthy)


BIG = DeviceCounts(capacity=8, healthy=5)


@pytest.mark.parametrize(
    ("available", "must_include", "size", "expected"),
    [
        (["eni-ip-3", "eni-ip-1", "eni-ip-4"], [], 2, ["eni-ip-1", "eni-ip-3"]),
        (["eni-ip-3", "eni-ip-1", "eni-ip-4"], ["eni-ip-4"], 2, ["eni-ip-4", "eni-ip-1"]),
        (["eni-ip-1", "eni-ip-6", "eni-ip-7"], [], 3, ["eni-ip-1"]),  # unhealthy ones are never preferred
        (["eni-ip-0", "nonsense"], [], 5, ["eni-ip-0"]),
        (["eni-ip-0"], [], 0, []),
    ],
)
def test_preferred_allocation(available, must_include, size, expected):
    assert preferred_allocation("eni-ip", BIG, available=available, must_include=must_include, size=size) == expected


@pytest.mark.parametrize(
    ("must_include", "size"), [(["eni-ip-0", "eni-ip-1"], 1), ([], -1), (["eni-ip-99"], 1), ([], MAX_DEVICES + 1)]
)
def test_preferred_allocation_rejects_impossible_requests(must_include, size):
    with pytest.raises(InvalidDeviceRequestError):
        preferred_allocation("eni-ip", BIG, available=["eni-ip-0"], must_include=must_include, size=size)


@pytest.mark.parametrize(
    ("capacity", "healthy", "expected"),
    [(10, 12, (10, 10)), (-1, 3, (0, 0)), (5, -2, (5, 0)), (MAX_DEVICES + 9, 1, (MAX_DEVICES, 1)), (4, 2, (4, 2))],
)
def test_clamped_counts(capacity, healthy, expected):
    counts = DeviceCounts.clamped(capacity=capacity, healthy=healthy)

    assert (counts.capacity, counts.healthy) == expected
