"""IP GC over the service and FakeNetwork: orphans past the grace period are released with their network;
nothing is collected blind; stale kernel state we own is removed, foreign state is not."""

import threading
from ipaddress import IPv4Address as A

import pytest

from eni.agent.gc import IpGarbageCollector
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.netlinkpod import NetlinkPodNetworker
from eni.agent.nodesync import NodeSync
from eni.agent.service import AgentService, PodRequest
from eni.netlink.fake import FakeNetwork, FakeRule
from eni.netlink.types import FROM_POD_RULE_PRIORITY, ROUTE_PROTOCOL


@pytest.fixture
def world(store, clock, status_of):
    net = FakeNetwork()
    net.add_eni("02:00:00:00:00:0a")
    service = AgentService(Ledger(store, clock=clock), NetlinkPodNetworker(net))
    NodeSync(service, net).sync(status_of.two_enis(4, 0))
    live = {"pods": set()}
    gc = IpGarbageCollector(service, net, lambda: live["pods"], grace=60, clock=clock)
    return net, service, gc, live


def add(net, service, name):
    netns = f"/var/run/netns/{name}"
    net.add_namespace(netns)
    return service.add(PodRequest(key=AttachmentKey("tke-eni", name, "eth0"), pod=PodRef("default", name),
                                  netns=netns))


def test_orphans_past_the_grace_period_are_released_with_their_network(world, clock):
    net, service, gc, live = world
    kept = add(net, service, "alive")
    gone = add(net, service, "gone")
    live["pods"] = {PodRef("default", "alive")}
    assert gc.collect().released == ()  # too young: the pod object may not be visible yet
    clock.step(61)
    result = gc.collect()
    assert [a.pod.name for a in result.released] == ["gone"]
    assert [a.pod.name for a in service.ledger.allocations()] == ["alive"]
    assert gone.interfaces.host_ifname not in net.node.links
    assert kept.interfaces.host_ifname in net.node.links
    assert gone.allocation.ip in service.ledger.cooling()


def test_nothing_is_collected_while_the_pods_are_unknown(world, clock):
    net, service, gc, live = world
    add(net, service, "p")
    live["pods"] = None
    clock.step(3600)
    assert gc.collect().released == () and len(service.ledger.allocations()) == 1


def test_allocations_without_a_pod_name_are_never_collected(world, clock):
    net, service, gc, live = world
    service.allocate(AttachmentKey("tke-eni", "anon", "eth0"), PodRef())
    clock.step(3600)
    assert gc.collect().released == () and len(service.ledger.allocations()) == 1


def test_stale_owned_rules_go_and_foreign_rules_stay(world):
    net, service, gc, live = world
    pod = add(net, service, "p")
    live["pods"] = {PodRef("default", "p")}
    stale = FakeRule(FROM_POD_RULE_PRIORITY, 2003, src=A("10.0.1.99"), protocol=ROUTE_PROTOCOL)
    foreign = FakeRule(FROM_POD_RULE_PRIORITY, 2003, src=A("10.0.1.98"))
    net.node.add_rule(stale)
    net.node.add_rule(foreign)
    result = gc.collect()
    assert result.stale_objects_removed >= 1
    assert stale not in net.node.rules and foreign in net.node.rules
    assert any(r.src == pod.allocation.ip for r in net.node.rules)


def test_gc_clean_up_holds_off_adds(world):
    net, service, gc, live = world
    net.add_namespace("/var/run/netns/late")
    done = threading.Event()

    def late_add():
        service.add(PodRequest(key=AttachmentKey("tke-eni", "late", "eth0"), netns="/var/run/netns/late"))
        done.set()

    with service.exclusive():
        worker = threading.Thread(target=late_add)
        worker.start()
        assert not done.wait(0.2)
    worker.join(10)
    assert done.is_set()


def test_pods_are_matched_by_uid_when_the_runtime_gave_one(world, clock):
    net, service, gc, live = world
    for name, uid in (("web-0", "uid-old"), ("web-1", "")):
        netns = f"/var/run/netns/{name}"
        net.add_namespace(netns)
        service.add(PodRequest(key=AttachmentKey("tke-eni", name, "eth0"), pod=PodRef("default", name, uid),
                               netns=netns))
    clock.step(61)
    # web-0 was deleted and re-created under the same name (a StatefulSet); web-1 has no uid: matched by name.
    live["pods"] = {PodRef("default", "web-0", "uid-new"), PodRef("default", "web-1", "uid-x")}
    assert [a.pod.uid for a in gc.collect().released] == ["uid-old"]
    assert [a.pod.name for a in service.ledger.allocations()] == ["web-1"]
    live["pods"] = {PodRef("default", "web-0", "uid-new")}
    assert [a.pod.name for a in gc.collect().released] == ["web-1"]
