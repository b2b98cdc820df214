"""The service over the netlink layer's FakeNetwork: NodeSync configures ENIs and reports status.agent;
ADD/CHECK/DEL plumb a fake kernel through NetlinkPodNetworker."""

import datetime
from ipaddress import IPv4Address as A

import pytest

from eni.agent.errors import CheckFailedError, LedgerError, NetworkSetupError
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.netlinkpod import NetlinkPodNetworker
from eni.agent.nodesync import NodeSync
from eni.agent.podnet import PodNetworker
from eni.agent.pool import PoolStatusError
from eni.agent.service import AgentService, PodRequest
from eni.netlink.fake import MAIN_TABLE, FakeNetwork
from eni.netlink.interfaces import NodeNetwork, PodNetwork

NETNS = "/var/run/netns/pod1"
KEY = AttachmentKey("tke-eni", "abc", "eth0")


@pytest.fixture
def world(store, clock, status_of):
    net = FakeNetwork()
    _: PodNetwork = net
    __: NodeNetwork = net
    eni = net.add_eni("02:00:00:00:00:0a")
    adapter = NetlinkPodNetworker(net)
    ___: PodNetworker = adapter
    service = AgentService(Ledger(store, clock=clock), adapter)
    sync = NodeSync(service, net, now=lambda: datetime.datetime(2026, 11, 28, 4, 0, tzinfo=datetime.timezone.utc))
    status = status_of.two_enis(2, 2)  # only eni-a is on the node yet
    return net, eni, service, sync, status


def test_sync_configures_present_enis_and_reports(world):
    net, eni, service, sync, status = world
    report = sync.sync(status)
    assert report.to_json() == {"inUseIPs": [], "releasedIPs": [], "inUseENIs": [], "releasedENIs": [],
                                "heartbeatTime": "2026-11-28T04:00:00Z"}
    assert net.node.sysctls["ip_forward"] == "1"
    assert [e.eni_id for e in service.pool().enis] == ["eni-a", "eni-b"]
    # eni-b is not on the node: its IPs are not handed out
    for i in range(2):
        assert service.allocate(AttachmentKey("n", f"c{i}", "eth0"), PodRef()).allocation.eni_id == "eni-a"


def test_add_check_del_on_the_fake_kernel(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    request = PodRequest(key=KEY, pod=PodRef("default", "web"), netns=NETNS)
    result = service.add(request)
    ip = result.allocation.ip
    pod = net.namespaces[NETNS]
    assert (ip, 32) in pod.links["eth0"].addresses
    assert result.interfaces.container_mac == pod.links["eth0"].mac
    service.check(request)
    net.node.routes = {r for r in net.node.routes if not (r.table == MAIN_TABLE and str(r.dst) == f"{ip}/32")}
    with pytest.raises(CheckFailedError, match="missing from the main table"):
        service.check(request)
    assert service.delete(request).ip == ip
    assert not [r for r in net.node.rules if r.src == ip or r.dst == ip]  # gone before DEL returns
    assert service.reaper.wait_idle(5.0)
    assert result.interfaces.host_ifname not in net.node.links
    assert service.delete(request) is None


def test_re_add_flushes_the_veth_still_waiting_for_deletion(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    request = PodRequest(key=KEY, netns=NETNS)
    first = service.add(request)
    with service.reaper.paused():  # the deletion stays pending, deterministically
        service.delete(request)
        assert service.reaper.pending() == 1
        assert first.interfaces.host_ifname in net.node.links
        second = service.add(request)  # the same attachment again: its old veth must not get in the way
        assert service.reaper.pending() == 0
    assert second.interfaces.host_ifname == first.interfaces.host_ifname
    assert second.interfaces.host_mac != first.interfaces.host_mac
    assert service.check(request) == service.ledger.get(KEY)


def test_ipam_allocate_adds_the_pod_rules_and_release_removes_them(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    result = service.allocate(KEY, PodRef("default", "web-0"))
    ip = result.allocation.ip
    table = service.tables()
    assert [(r.priority, r.table) for r in net.node.rules if r.src == ip or r.dst == ip] \
        == [(512, MAIN_TABLE), (1536, next(iter(table)))]
    assert service.allocate(KEY, PodRef("default", "web-0")).allocation == result.allocation
    assert service.release(KEY) == result.allocation
    assert not [r for r in net.node.rules if r.src == ip or r.dst == ip]
    assert service.release(KEY) is None


def test_del_after_the_namespace_is_gone(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    request = PodRequest(key=KEY, netns=NETNS)
    service.add(request)
    net.delete_namespace(NETNS)
    assert service.delete(request) is not None
    assert service.ledger.allocations() == []


def test_add_into_a_missing_namespace_fails_and_keeps_nothing(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    with pytest.raises(NetworkSetupError):
        service.add(PodRequest(key=KEY, netns="/var/run/netns/missing"))
    assert service.ledger.allocations() == []


def test_release_handshake_reports_promised_ips(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    service.allocate(KEY, PodRef())  # 10.0.1.20 in use
    for entry in status["enis"][0]["ips"]:
        entry["state"] = "Releasing"
    report = sync.sync(status)
    assert report.in_use_ips == ("10.0.1.20",) and report.released_ips == ("10.0.1.21",)
    assert service.ledger.promised() == {A("10.0.1.21")}


def test_a_malformed_status_changes_nothing(world):
    net, eni, service, sync, status = world
    sync.sync(status)
    before = service.pool()
    status["enis"][0]["mac"] = "not-a-mac"
    with pytest.raises(PoolStatusError):
        sync.sync(status)
    assert service.pool() is before and service.ledger.promised() == frozenset()


def test_add_whose_ledger_save_fails_fails_and_leaves_no_veth(world, store):
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    store.fail = OSError("disk full")
    with pytest.raises(LedgerError):
        service.add(PodRequest(key=KEY, netns=NETNS))
    assert service.ledger.allocations() == []
    assert not [name for name, link in net.node.links.items() if link.kind == "veth"]
    assert "eth0" not in net.namespaces[NETNS].links
    store.fail = None
    assert service.add(PodRequest(key=KEY, netns=NETNS)).allocation == service.ledger.get(KEY)


def test_del_of_an_unknown_attachment_still_removes_its_veth(world):
    """The agent died after plumbing an ADD whose record never became durable: the runtime's DEL cleans up."""
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    result = service.add(PodRequest(key=KEY, netns=NETNS))
    service.ledger.release(KEY)  # as if the record had never been written
    assert service.delete(PodRequest(key=KEY, netns=NETNS)) is None
    assert service.reaper.wait_idle(5.0)
    assert result.interfaces.host_ifname not in net.node.links


def test_a_retried_add_while_the_eni_is_not_set_up_keeps_the_allocation(world):
    """After a restart the pool is empty until the NEC is read: a runtime's retried ADD fails, its pod keeps its IP."""
    net, eni, service, sync, status = world
    sync.sync(status)
    net.add_namespace(NETNS)
    first = service.add(PodRequest(key=KEY, netns=NETNS))
    service.update_pool(service.pool(), {})  # as if the ENI's table were not known yet
    with pytest.raises(NetworkSetupError, match="not set up on this node"):
        service.add(PodRequest(key=KEY, netns=NETNS))
    assert service.ledger.get(KEY) == first.allocation
    assert first.interfaces.host_ifname in net.node.links
