"""Private IP actions against the emulator: batching, quotas, partial outcomes, idempotency, migration."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from eni.cloud import errors
from eni.cloud.emulator import SubnetSpec, World
from eni.cloud.types import InstanceId, SubnetId

NODE = InstanceId("ins-emu00001")  # 4 ENIs x 10 IPs
BIG_NODE = InstanceId("ins-emu00002")  # 6 ENIs x 20 IPs
SUBNET = SubnetId("subnet-gz3a0001")


def cloud_ips(emulator, eni_id) -> list[str]:
    (raw,) = [e for e in emulator.snapshot()["networkInterfaces"] if e["NetworkInterfaceId"] == eni_id]
    return [ip["PrivateIpAddress"] for ip in raw["PrivateIpAddressSet"] if not ip["Primary"]]


def attached_eni(vpc, node, name):
    eni = vpc.create_eni(intent=f"{node}/{name}", subnet_id=SUBNET, name=name)
    vpc.attach_eni(eni.id, node)
    return eni


def test_assign_by_count_and_by_address_then_unassign(vpc, emulator) -> None:
    eni = attached_eni(vpc, BIG_NODE, "ips")
    by_count = vpc.assign_private_ips(eni.id, intent="warm-1", count=12)
    wanted = ["10.0.1.200", "10.0.1.201"]
    by_address = vpc.assign_private_ips(eni.id, intent="static-1", addresses=wanted)
    assert [ip.address for ip in by_address] == wanted
    assert sorted(cloud_ips(emulator, eni.id)) == sorted([ip.address for ip in by_count] + wanted)
    assert emulator.calls.count("AssignPrivateIpAddresses", outcome="ok") == 3  # 10 + 2, then 2
    vpc.unassign_private_ips(eni.id, [ip.address for ip in by_count])
    assert sorted(cloud_ips(emulator, eni.id)) == wanted


def test_ip_quota_on_a_later_batch_reports_partial_outcome(vpc, emulator) -> None:
    eni = attached_eni(vpc, BIG_NODE, "partial")
    with pytest.raises(errors.PartialOutcome) as caught:
        vpc.assign_private_ips(eni.id, intent="too-many", count=25)
    partial = caught.value
    assert len(partial.done) == 10 and partial.not_done == 15
    assert isinstance(partial.cause, errors.QuotaExceeded) and partial.code == "LimitExceeded"
    assert sorted(cloud_ips(emulator, eni.id)) == sorted(partial.done)


def test_ip_quota_on_the_first_batch_is_quota_exceeded(vpc, emulator) -> None:
    eni = attached_eni(vpc, NODE, "quota")
    vpc.assign_private_ips(eni.id, intent="fill", count=9)
    with pytest.raises(errors.QuotaExceeded) as caught:
        vpc.assign_private_ips(eni.id, intent="one-more", count=1)
    assert caught.value.code == "LimitExceeded"
    assert len(cloud_ips(emulator, eni.id)) == 9


def test_unassign_of_foreign_ips_reports_what_was_unassigned(vpc, emulator) -> None:
    eni = attached_eni(vpc, BIG_NODE, "unassign")
    ips = [ip.address for ip in vpc.assign_private_ips(eni.id, intent="some", count=10)]
    with pytest.raises(errors.PartialOutcome) as caught:
        vpc.unassign_private_ips(eni.id, ips + ["10.0.1.250"])
    assert caught.value.done == tuple(ips) and caught.value.not_done == ("10.0.1.250",)
    assert caught.value.code == "ResourceNotFound" and isinstance(caught.value.cause, errors.NotFound)
    assert cloud_ips(emulator, eni.id) == []


def test_occupied_address_is_invalid(vpc) -> None:
    first = attached_eni(vpc, BIG_NODE, "a")
    second = attached_eni(vpc, BIG_NODE, "b")
    vpc.assign_private_ips(first.id, intent="x", addresses=["10.0.1.100"])
    with pytest.raises(errors.InvalidRequest) as caught:
        vpc.assign_private_ips(second.id, intent="y", addresses=["10.0.1.100"])
    assert caught.value.code == "InvalidParameterValue.Occupied"


def test_same_intent_assigns_once_even_from_a_new_adapter(vpc, make_adapter, emulator) -> None:
    eni = attached_eni(vpc, BIG_NODE, "idem")
    first = vpc.assign_private_ips(eni.id, intent="node-2/warm-gen-1", count=13)
    again = vpc.assign_private_ips(eni.id, intent="node-2/warm-gen-1", count=13)
    restarted = make_adapter().assign_private_ips(eni.id, intent="node-2/warm-gen-1", count=13)
    assert [ip.address for ip in first] == [ip.address for ip in again] == [ip.address for ip in restarted]
    assert len(cloud_ips(emulator, eni.id)) == 13
    answered = emulator.calls.count("AssignPrivateIpAddresses", outcome="ok")
    assert answered == 6  # six requests answered, but only two batches of work done


def test_lost_replies_and_a_restart_still_assign_once(make_adapter, emulator) -> None:
    vpc = make_adapter()
    eni = attached_eni(vpc, BIG_NODE, "lost")
    # Every Assign is answered after the client gave up: the work happens, the replies are lost.
    emulator.faults.latency("AssignPrivateIpAddresses", seconds=0.6)
    impatient = make_adapter(request_timeout=0.25, retry_attempts=3)
    with pytest.raises(errors.CloudUnavailable):
        impatient.assign_private_ips(eni.id, intent="lost-1", count=4)
    emulator.faults.clear()
    # The process "restarts" and replays its intent.
    ips = make_adapter().assign_private_ips(eni.id, intent="lost-1", count=4)
    assert emulator.wait_tasks(timeout=5)
    for _ in range(100):  # the delayed attempts land within 0.6 s; wait for all four to be answered
        if emulator.calls.count("AssignPrivateIpAddresses") >= 4:
            break
        threading.Event().wait(0.05)
    assert emulator.calls.count("AssignPrivateIpAddresses") == 4
    assert sorted(cloud_ips(emulator, eni.id)) == sorted(ip.address for ip in ips) and len(ips) == 4


def test_migrate_moves_an_ip_between_enis(vpc, emulator) -> None:
    source = attached_eni(vpc, BIG_NODE, "src")
    destination = attached_eni(vpc, BIG_NODE, "dst")
    (ip,) = vpc.assign_private_ips(source.id, intent="m", count=1)
    vpc.migrate_private_ip(ip.address, source_eni_id=source.id, destination_eni_id=destination.id)
    assert cloud_ips(emulator, source.id) == [] and cloud_ips(emulator, destination.id) == [ip.address]


def test_concurrent_mutations_of_one_eni_wait_for_the_mutex(start_emulator, adapter_for) -> None:
    slow = start_emulator(task_delay=0.3)
    vpc = adapter_for(slow)
    eni = attached_eni(vpc, BIG_NODE, "mutex")
    barrier = threading.Barrier(2, timeout=5)
    results: dict[str, int] = {}

    def assign(name: str) -> None:
        barrier.wait()
        results[name] = len(vpc.assign_private_ips(eni.id, intent=name, count=3))

    threads = [threading.Thread(target=assign, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"first": 3, "second": 3}
    busy = slow.calls.count("AssignPrivateIpAddresses", outcome="UnsupportedOperation.MutexOperationTaskRunning")
    assert busy >= 1
    assert vpc.metrics.registry.get_sample_value("eni_cloud_api_retries_total",
                                                 {"action": "AssignPrivateIpAddresses"}) == busy


def test_subnet_exhaustion(start_emulator, adapter_for) -> None:
    world = World.default()
    tiny = SubnetSpec("subnet-tiny0001", world.zones[0], "10.0.9.0/28", "tiny")
    emu = start_emulator(world=dataclasses.replace(world, subnets=(*world.subnets, tiny)))
    vpc = adapter_for(emu)
    vpc.create_eni(intent="t1", subnet_id=SubnetId("subnet-tiny0001"), name="t1", secondary_ip_count=9)
    with pytest.raises(errors.SubnetExhausted) as caught:
        vpc.create_eni(intent="t2", subnet_id=SubnetId("subnet-tiny0001"), name="t2", secondary_ip_count=9)
    assert caught.value.code == "ResourceInsufficient.Subnet"
    (subnet,) = vpc.describe_subnets([SubnetId("subnet-tiny0001")])
    assert subnet.available_ip_count == 13 - 10
