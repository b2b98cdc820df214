"""AgentService over the ledger and FakePodNetworker: ADD/DEL/CHECK semantics and input validation."""

from ipaddress import IPv4Address as A

import pytest

from eni.agent.errors import (
    CheckFailedError,
    InvalidRequestError,
    NetworkSetupError,
    PoolExhaustedError,
    UnknownContainerError,
)
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.podnet import FakePodNetworker, PodNetworker, host_ifname_for
from eni.agent.pool import parse_pool
from eni.agent.service import AgentService, PodRequest

KEY = AttachmentKey(network_name="tke-eni", container_id="abc123", ifname="eth0")
REQ = PodRequest(key=KEY, pod=PodRef("default", "web-0"), netns="/var/run/netns/pod1")


@pytest.fixture
def net():
    network = FakePodNetworker()
    _: PodNetworker = network
    return network


@pytest.fixture
def service(store, clock, net, status_of):
    svc = AgentService(Ledger(store, clock=clock), net)
    pool = parse_pool(status_of.two_enis(2, 2))
    svc.update_pool(pool, {"02:00:00:00:00:0a": 2003, "02:00:00:00:00:0b": 2004})
    return svc


def test_add_allocates_durably_then_plumbs_the_pod(service, net, store):
    result = service.add(REQ)
    assert str(result.address) == "10.0.1.20/32" and result.gateway == A("169.254.1.1")
    spec = net.pods[host_ifname_for("tke-eni", "abc123", "eth0")]
    assert (spec.ip, spec.eni_table, spec.container_ifname, spec.netns_path) == (
        A("10.0.1.20"), 2003, "eth0", "/var/run/netns/pod1")
    assert [str(a.ip) for a in store.reopened().allocations()] == ["10.0.1.20"]
    assert result.interfaces.container_ifname == "eth0" and result.netns == REQ.netns


def test_add_twice_returns_the_same_ip(service):
    assert service.add(REQ).allocation == service.add(REQ).allocation


def test_failed_setup_releases_the_ip_and_reports_a_reason(service, net):
    net.fail_setup = OSError("File exists")
    with pytest.raises(NetworkSetupError, match="File exists"):
        service.add(REQ)
    assert service.ledger.allocations() == [] and net.pods == {}


def test_del_is_idempotent_and_frees_the_ip(service, net):
    ip = service.add(REQ).allocation.ip
    assert service.delete(REQ).ip == ip
    assert service.delete(REQ) is None
    assert service.delete(PodRequest(key=KEY)) is None  # no netns: still fine
    assert net.pods == {} and ip in service.ledger.cooling()


def test_check_passes_then_fails_on_drift_and_for_unknown_containers(service, net):
    service.add(REQ)
    service.check(REQ)
    net.broken.add(host_ifname_for("tke-eni", "abc123", "eth0"))
    with pytest.raises(CheckFailedError, match="route"):
        service.check(REQ)
    service.delete(REQ)
    with pytest.raises(UnknownContainerError):
        service.check(REQ)


def test_pool_exhausted_is_retryable(service):
    for i in range(4):
        service.allocate(AttachmentKey("tke-eni", f"c{i}", "eth0"), PodRef())
    with pytest.raises(PoolExhaustedError) as err:
        service.add(REQ)
    assert err.value.retryable


def test_enis_without_a_route_table_are_not_used_yet(service, status_of):
    service.update_pool(parse_pool(status_of.two_enis(2, 2)), {"02:00:00:00:00:0b": 2004})
    assert service.add(REQ).allocation.eni_id == "eni-b"
    service.update_pool(parse_pool(status_of.two_enis(2, 2)), {})
    with pytest.raises(PoolExhaustedError, match="no ENI"):
        service.allocate(AttachmentKey("tke-eni", "other", "eth0"), PodRef())


def test_ipam_allocate_uses_the_subnet_prefix(service):
    result = service.allocate(KEY, PodRef())
    assert str(result.address) == "10.0.1.20/24" and result.gateway == A("10.0.1.10")  # the ENI's primary IP
    assert service.release(KEY).ip == A("10.0.1.20")


@pytest.mark.parametrize(
    "request_",
    [
        PodRequest(key=AttachmentKey("tke-eni", "", "eth0"), netns="/x"),
        PodRequest(key=AttachmentKey("tke-eni", "bad/id", "eth0"), netns="/x"),
        PodRequest(key=AttachmentKey("", "abc", "eth0"), netns="/x"),
        PodRequest(key=AttachmentKey("tke-eni", "abc", "a-very-long-ifname"), netns="/x"),
        PodRequest(key=AttachmentKey("tke-eni", "abc", "eth 0"), netns="/x"),
        PodRequest(key=KEY, netns="relative/path"),
        PodRequest(key=KEY, netns="/x", mtu=100),
    ],
)
def test_bad_requests_change_nothing(service, store, request_):
    with pytest.raises(InvalidRequestError):
        service.add(request_)
    assert store.writes == 0


def test_every_durable_allocation_change_is_announced(store, clock, net, status_of):
    changes = []
    svc = AgentService(Ledger(store, clock=clock, cooldown=0), net,
                       on_change=lambda: changes.append(len(store.reopened().allocations())))
    svc.update_pool(parse_pool(status_of.two_enis(1, 0)), {"02:00:00:00:00:0a": 2003})
    svc.add(REQ)
    assert changes == [1]  # announced once the record is saved
    svc.add(REQ)
    svc.delete(REQ)
    svc.delete(REQ)
    assert changes == [1, 1, 0]  # the retried ADD may be a new pod's view; the second DEL changes nothing
    net.fail_setup = OSError("boom")
    with pytest.raises(NetworkSetupError):
        svc.add(REQ)
    assert changes == [1, 1, 0]  # a failed ADD leaves nothing to report
    svc.allocate(KEY, PodRef("default", "web-0"))
    svc.release(KEY)
    assert changes == [1, 1, 0, 1, 0]
    svc.close()


def test_a_failing_change_listener_does_not_fail_the_add(store, clock, net, status_of):
    def broken():
        raise RuntimeError("listener down")

    svc = AgentService(Ledger(store, clock=clock), net, on_change=broken)
    svc.update_pool(parse_pool(status_of.two_enis(1, 0)), {"02:00:00:00:00:0a": 2003})
    assert str(svc.add(REQ).allocation.ip) == "10.0.1.20"
    svc.close()
