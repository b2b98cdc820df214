"""DeviceInventory: change generations, bounded waits, bad input changes nothing."""

import threading

import pytest

from eni.agent.deviceplugin import ENI_IP, DeviceAdvertiser, DeviceCounts, DevicePluginServer, InvalidDeviceCountsError
from eni.agent.deviceplugin.inventory import DeviceInventory


def test_update_reports_real_changes_only():
    inventory = DeviceInventory(DeviceCounts(capacity=2, healthy=1))

    assert inventory.update(capacity=2, healthy=1) is False
    assert inventory.snapshot() == (0, DeviceCounts(capacity=2, healthy=1))
    assert inventory.update(capacity=3, healthy=1) is True
    assert inventory.update(capacity=3, healthy=3) is True
    assert inventory.snapshot() == (2, DeviceCounts(capacity=3, healthy=3))


def test_impossible_update_changes_nothing():
    inventory = DeviceInventory(DeviceCounts(capacity=2, healthy=1))

    with pytest.raises(InvalidDeviceCountsError):
        inventory.update(capacity=2, healthy=5)
    assert inventory.snapshot() == (0, DeviceCounts(capacity=2, healthy=1))


def test_wait_returns_at_once_when_a_change_was_missed():
    inventory = DeviceInventory(DeviceCounts(capacity=0, healthy=0))
    generation, _ = inventory.snapshot()
    inventory.update(capacity=4, healthy=2)

    # A huge timeout would hang the test if the missed change were not noticed.
    assert inventory.wait_for_change(generation, timeout=3600) == (1, DeviceCounts(capacity=4, healthy=2))


def test_wait_without_change_times_out_with_the_same_generation():
    inventory = DeviceInventory(DeviceCounts(capacity=1, healthy=1))

    assert inventory.wait_for_change(0, timeout=0) == (0, DeviceCounts(capacity=1, healthy=1))


def test_update_from_another_thread_wakes_the_waiter():
    inventory = DeviceInventory(DeviceCounts(capacity=1, healthy=0))
    waiting = threading.Event()
    result: list[tuple[int, DeviceCounts]] = []

    def waiter():
        waiting.set()
        result.append(inventory.wait_for_change(0, timeout=60))

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait(10)
    inventory.update(capacity=1, healthy=1)
    thread.join(60)

    assert not thread.is_alive()
    assert result == [(1, DeviceCounts(capacity=1, healthy=1))]


@pytest.mark.parametrize(
    "make",
    [lambda: DeviceInventory(DeviceCounts(capacity=0, healthy=0)), lambda: DevicePluginServer(ENI_IP)],
    ids=["inventory", "server"],
)
def test_device_advertisers(make):
    advertiser: DeviceAdvertiser = make()  # constructing a server touches no file and starts no thread

    assert advertiser.update(capacity=3, healthy=1) is True
    assert advertiser.update(capacity=3, healthy=1) is False
    with pytest.raises(InvalidDeviceCountsError):
        advertiser.update(capacity=3, healthy=4)
