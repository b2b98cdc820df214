"""StatusPublisher: patches status.agent only when the IPs changed, on the heartbeat, or when the API server
shows something else than we wrote; a failed patch is not counted as published."""

import pytest

from eni.agent.nodesync import AgentStatus
from eni.agent.statuspub import StatusPublisher


def status(in_use=(), released=(), beat="2026-11-28T05:00:00Z", *, enis=(), released_enis=()):
    return AgentStatus(in_use_ips=tuple(in_use), released_ips=tuple(released), heartbeat_time=beat,
                       in_use_enis=tuple(enis), released_enis=tuple(released_enis))


@pytest.fixture
def world(clock):
    sent, shown = [], {"status": None}

    def patch(body):
        if shown.get("fail"):
            raise RuntimeError("API server unavailable")
        sent.append(body)

    publisher = StatusPublisher(patch, current=lambda: shown["status"], heartbeat=60, clock=clock)
    return publisher, sent, shown


def test_publishes_changes_and_heartbeats_only(world, clock):
    publisher, sent, _ = world
    assert publisher.publish(status(["10.0.1.20"]))
    assert sent == [{"status": {"agent": {"inUseIPs": ["10.0.1.20"], "releasedIPs": [], "inUseENIs": [],
                                          "releasedENIs": [], "heartbeatTime": "2026-11-28T05:00:00Z"}}}]
    clock.step(4)
    assert not publisher.publish(status(["10.0.1.20"], beat="later"))  # same IPs, heartbeat not due
    assert publisher.publish(status(["10.0.1.20"], ["10.0.1.21"]))  # the handshake answer goes out at once
    clock.step(59)
    shown_now = {"agent": {"inUseIPs": ["10.0.1.20"], "releasedIPs": ["10.0.1.21"]}}
    world[2]["status"] = shown_now
    assert not publisher.publish(status(["10.0.1.20"], ["10.0.1.21"]))
    clock.step(2)
    assert publisher.publish(status(["10.0.1.20"], ["10.0.1.21"]))  # heartbeat
    assert len(sent) == 3


def test_republishes_when_the_api_server_lost_or_replaced_our_status(world, clock):
    publisher, sent, shown = world
    publisher.publish(status(["10.0.1.20"]))
    clock.step(1)
    shown["status"] = {}  # not yet seen by the informer: no duplicate patch right after ours
    assert not publisher.publish(status(["10.0.1.20"]))
    clock.step(10)
    assert publisher.publish(status(["10.0.1.20"]))
    shown["status"] = {"agent": {"inUseIPs": ["10.0.1.20"], "releasedIPs": []}}
    clock.step(10)
    assert not publisher.publish(status(["10.0.1.20"]))
    assert len(sent) == 2


def test_exclusive_eni_changes_go_out_at_once_and_are_compared_with_the_api_server(world, clock):
    publisher, sent, shown = world
    assert publisher.publish(status(enis=["eni-d1"]))
    clock.step(1)
    assert publisher.publish(status(enis=["eni-d1"], released_enis=["eni-d2"]))  # the ENI handshake answer
    assert sent[-1]["status"]["agent"]["releasedENIs"] == ["eni-d2"]
    assert not publisher.publish(status(enis=["eni-d1"], released_enis=["eni-d2"]))
    clock.step(10)
    shown["status"] = {"agent": {"inUseIPs": [], "releasedIPs": [], "inUseENIs": ["eni-d1"]}}  # lost releasedENIs
    assert publisher.publish(status(enis=["eni-d1"], released_enis=["eni-d2"]))
    assert len(sent) == 3


def test_a_failed_patch_is_retried_next_time(world, clock):
    publisher, sent, shown = world
    shown["fail"] = True
    with pytest.raises(RuntimeError):
        publisher.publish(status(["10.0.1.20"]))
    shown["fail"] = False
    assert publisher.publish(status(["10.0.1.20"]))
    assert len(sent) == 1


def test_heartbeat_must_be_positive():
    with pytest.raises(ValueError):
        StatusPublisher(lambda body: None, heartbeat=0)
