"""NodeLoop: each step installs, applies the status and publishes, runs GC when due; failures don't stop it."""

import logging
import threading

import pytest

from eni.agent.gc import IpGarbageCollector
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.netlinkpod import NetlinkPodNetworker
from eni.agent.nodeloop import NodeLoop, NodeLoopSettings
from eni.agent.nodesync import NodeSync
from eni.agent.service import AgentService
from eni.netlink.fake import FakeNetwork


class Recorder:
    def __init__(self):
        self.published = []
        self.installs = 0
        self.collects = 0


@pytest.fixture
def loop_parts(store, clock, status_of):
    net = FakeNetwork()
    net.add_eni("02:00:00:00:00:0a")
    service = AgentService(Ledger(store, clock=clock), NetlinkPodNetworker(net))
    rec = Recorder()
    state = {"status": status_of.two_enis(2, 0)}
    gc = IpGarbageCollector(service, net, lambda: set(), clock=clock)
    original_collect = gc.collect

    def counting_collect():
        rec.collects += 1
        return original_collect()

    gc.collect = counting_collect

    def install():
        rec.installs += 1

    loop = NodeLoop(NodeSync(service, net), status=lambda: state["status"], publish=rec.published.append, gc=gc,
                    install=install, settings=NodeLoopSettings(resync_interval=10, gc_interval=60), clock=clock)
    return loop, net, service, rec, state


def test_a_step_installs_applies_publishes_and_collects_when_due(loop_parts, clock):
    loop, net, service, rec, state = loop_parts
    loop.step()
    assert rec.installs == 1 and rec.collects == 1
    assert rec.published[-1].in_use_ips == () and [e.eni_id for e in service.pool().enis] == ["eni-a", "eni-b"]
    clock.step(30)
    loop.step()
    assert rec.collects == 1 and len(rec.published) == 2
    clock.step(31)
    loop.step()
    assert rec.collects == 2


def test_drift_is_repaired_on_the_next_step(loop_parts):
    loop, net, service, rec, state = loop_parts
    loop.step()
    net.node.sysctls["ip_forward"] = "0"
    net.node.rules.clear()
    loop.step()
    assert net.node.sysctls["ip_forward"] == "1" and net.node.rules


def test_a_failing_phase_is_logged_and_the_others_still_run(loop_parts, caplog):
    loop, net, service, rec, state = loop_parts
    state["status"] = {"enis": "garbage"}
    with caplog.at_level(logging.ERROR, logger="eni.agent.nodeloop"):
        loop.step()
    assert rec.published == [] and rec.collects == 1 and rec.installs == 1
    assert "Node loop phase failed" in caplog.text


def test_no_status_yet_publishes_nothing(loop_parts):
    loop, net, service, rec, state = loop_parts
    state["status"] = None
    loop.step()
    assert rec.published == []


def test_run_steps_on_wake_and_stops(loop_parts, store, clock, status_of):
    loop, net, service, rec, state = loop_parts
    real_loop = NodeLoop(loop._sync, status=lambda: state["status"], publish=rec.published.append,
                         settings=NodeLoopSettings(resync_interval=3600))
    stop = threading.Event()
    worker = threading.Thread(target=real_loop.run, args=(stop,))
    worker.start()
    try:
        for expected in (1, 2):
            for _ in range(200):
                if len(rec.published) >= expected:
                    break
                threading.Event().wait(0.01)
            assert len(rec.published) >= expected
            real_loop.wake()
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()


def test_settings_are_validated():
    with pytest.raises(ValueError):
        NodeLoopSettings(resync_interval=0)


class StepClock:
    """A settable monotonic clock for run(): real waits are short, the clock decides what is due."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _wait_for(predicate, what):
    for _ in range(500):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_allocation_changes_are_reported_promptly_without_a_step_and_bursts_coalesce(loop_parts):
    loop, net, service, rec, state = loop_parts
    clock = StepClock()
    steps = []
    prompt = NodeLoop(loop._sync, status=lambda: state["status"], publish=rec.published.append,
                      install=lambda: steps.append(1),
                      settings=NodeLoopSettings(resync_interval=3600, report_interval=0.2), clock=clock)
    stop = threading.Event()
    worker = threading.Thread(target=prompt.run, args=(stop,))
    worker.start()
    try:
        _wait_for(lambda: len(rec.published) == 1, "the first step")
        clock.now += 1  # past the report interval
        for _ in range(5):
            prompt.allocations_changed()
        _wait_for(lambda: len(rec.published) == 2, "the prompted report")
        assert steps == [1]  # a report, not a step (no node work)
        # Within report_interval of the last report: the next change waits for the clock.
        prompt.allocations_changed()
        threading.Event().wait(0.3)
        assert len(rec.published) == 2
        clock.now += 0.2
        _wait_for(lambda: len(rec.published) == 3, "the delayed report")
        assert steps == [1]
        prompt.wake()
        _wait_for(lambda: len(steps) == 2, "a step on wake")
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()


def test_a_prompt_report_carries_the_new_in_use_ips(loop_parts):
    loop, net, service, rec, state = loop_parts
    loop.step()
    service.ledger.assign(AttachmentKey("tke-eni", "c1", "eth0"), PodRef("default", "web"), service.pool())
    assert loop._sync.report().in_use_ips == ("10.0.1.20",)


def test_the_report_interval_must_be_positive():
    with pytest.raises(ValueError):
        NodeLoopSettings(report_interval=0)


def test_a_change_while_a_report_is_due_does_not_wake_the_loop_again(loop_parts):
    loop, *_ = loop_parts
    loop.allocations_changed()
    assert loop._signal.is_set()
    loop._signal.clear()
    loop.allocations_changed()  # the report still due covers this change too
    assert not loop._signal.is_set()
