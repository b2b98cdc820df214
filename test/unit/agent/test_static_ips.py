"""Static-IP mode on the node: an IP ipamd reserves for a pod goes to that pod only, others wait with code 11."""

import threading
from ipaddress import IPv4Address as A

import pytest

from eni.agent.errors import PoolExhaustedError, StaticIpPendingError
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import IpState, PoolStatusError, choose_ip, parse_pool, releasable_ips
from eni.agent.service import AgentService, PodRequest, ServiceSettings

MAC = "02:00:00:00:00:0a"
DB0 = PodRef("shop", "db-0", "uid-1")
DB1 = PodRef("shop", "db-1", "uid-2")


def key(n):
    return AttachmentKey(network_name="tke-eni", container_id=f"c{n}", ifname="eth0")


def static_status(*entries):
    """One shared ENI whose IPs are ``(ip, state, pod-or-None)``."""
    ips = []
    for ip, state, pod in entries:
        entry = {"ip": ip, "state": state}
        if pod is not None:
            entry["pod"] = {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid}
        ips.append(entry)
    return {"enis": [{"eniId": "eni-a", "mac": MAC, "primaryIP": "10.0.1.10", "subnetCIDR": "10.0.1.0/24",
                      "gateway": "10.0.1.1", "type": "route", "ips": ips}]}


def test_parse_reads_the_reservations():
    pool = parse_pool(static_status(("10.0.1.20", "Bound", DB0), ("10.0.1.21", "Bound", None)))
    assert pool.static
    assert pool.reserved_for(A("10.0.1.20")) == DB0
    assert pool.reserved_for(A("10.0.1.21")) is None
    assert not parse_pool(static_status(("10.0.1.21", "Bound", None))).static


@pytest.mark.parametrize("pod", [{"namespace": "shop"}, {"name": "db-0"}, "db-0", {"namespace": "", "name": "x"}])
def test_a_reservation_without_namespace_and_name_is_a_clear_error(pod):
    status = static_status(("10.0.1.20", "Bound", None))
    status["enis"][0]["ips"][0]["pod"] = pod
    with pytest.raises(PoolStatusError, match=r"pod of 10\.0\.1\.20 must be an object with a namespace and a name"):
        parse_pool(status)


@pytest.mark.parametrize(
    "requester, expected",
    [
        (DB0, "10.0.1.21"),
        (PodRef("shop", "db-0", ""), "10.0.1.21"),  # no uid in CNI_ARGS: namespace and name decide
        (PodRef("shop", "db-0", "uid-9"), None),  # a later pod of that name: ipamd has not rebound the claim yet
        (PodRef("other", "db-0", "uid-1"), None),
        (PodRef("shop", "web-1", ""), None),  # not a static pod of this node: never an IP reserved for another
        (PodRef(), None),
        (None, None),
    ],
)
def test_a_static_pool_gives_each_pod_only_its_reserved_ip(requester, expected):
    pool = parse_pool(static_status(("10.0.1.20", "Bound", DB1), ("10.0.1.21", "Bound", DB0)))
    chosen = choose_ip(pool, pod=requester, in_use=set(), unavailable=set())
    assert (None if chosen is None else str(chosen[1])) == expected


def test_a_retained_reservation_without_uid_goes_to_the_next_pod_of_that_name():
    pool = parse_pool(static_status(("10.0.1.20", "Bound", PodRef("shop", "db-0", ""))))
    assert choose_ip(pool, pod=DB0, in_use=set(), unavailable=set())[1] == A("10.0.1.20")


def test_a_static_pool_never_hands_out_its_unreserved_ips():
    pool = parse_pool(static_status(("10.0.1.20", "Bound", DB1), ("10.0.1.21", "Bound", None)))
    assert choose_ip(pool, pod=DB0, in_use=set(), unavailable=set()) is None


@pytest.mark.parametrize(
    "state, in_use, unavailable, cooling, expected",
    [
        ("Bound", [], [], ["10.0.1.20"], "10.0.1.20"),  # its own IP: the cooldown is against other pods
        ("Bound", ["10.0.1.20"], [], [], None),  # an earlier sandbox of the pod still holds it
        ("Bound", [], ["10.0.1.20"], [], None),  # promised back: never again
        ("Releasing", [], [], [], None),  # being moved to another node
    ],
)
def test_the_reserved_ip_is_given_only_while_it_is_free(state, in_use, unavailable, cooling, expected):
    pool = parse_pool(static_status(("10.0.1.20", state, DB0)))
    chosen = choose_ip(pool, pod=DB0, in_use={A(i) for i in in_use}, unavailable={A(i) for i in unavailable},
                       cooling={A(i) for i in cooling})
    assert (None if chosen is None else str(chosen[1])) == expected


def test_a_non_static_pool_respects_the_cooldown():
    pool = parse_pool(static_status(("10.0.1.20", "Bound", None), ("10.0.1.21", "Bound", None)))
    chosen = choose_ip(pool, pod=DB0, in_use=set(), unavailable=set(), cooling={A("10.0.1.20")})
    assert chosen[1] == A("10.0.1.21")


def test_a_releasing_reserved_ip_is_promised_back_without_a_cooldown_but_never_while_in_use():
    pool = parse_pool(static_status(("10.0.1.20", "Releasing", DB0), ("10.0.1.21", "Releasing", None),
                                    ("10.0.1.22", "Releasing", DB1)))
    cooling = {A("10.0.1.20"), A("10.0.1.21"), A("10.0.1.22")}
    assert releasable_ips(pool, in_use={A("10.0.1.22")}, held=cooling) == {A("10.0.1.20")}


# --- the ledger and the service ----------------------------------------------------------------------


@pytest.fixture
def service(store, clock):
    svc = AgentService(Ledger(store, clock=clock, cooldown=30.0), FakePodNetworker())
    yield svc
    svc.close()


def request(n, pod):
    return PodRequest(key=key(n), pod=pod, netns=f"/var/run/netns/pod{n}")


def set_status(service, *entries):
    service.update_pool(parse_pool(static_status(*entries)), {MAC: 2003})


def test_add_waits_with_try_again_later_until_ipamd_lists_the_pods_ip(service):
    set_status(service, ("10.0.1.20", "Bound", DB1))
    with pytest.raises(PoolExhaustedError, match="waiting for ipamd to assign the static IP of shop/db-0$") as e:
        service.add(request(1, DB0))
    assert e.value.retryable
    assert service.ledger.allocations() == []

    set_status(service, ("10.0.1.20", "Bound", DB1), ("10.0.1.21", "Bound", DB0))
    assert str(service.add(request(1, DB0)).allocation.ip) == "10.0.1.21"
    assert str(service.add(request(2, DB1)).allocation.ip) == "10.0.1.20"


def test_a_node_without_enis_says_the_pod_waits_for_its_static_ip(service):
    service.update_pool(parse_pool({}), {})
    with pytest.raises(PoolExhaustedError, match="waiting for ipamd to assign the static IP of shop/db-0"):
        service.add(request(1, DB0))


def test_a_recreated_static_pod_gets_its_ip_back_at_once_but_no_other_pod_ever_does(service, clock):
    set_status(service, ("10.0.1.20", "Bound", DB0))
    service.add(request(1, DB0))
    service.delete(request(1, DB0))
    with pytest.raises(PoolExhaustedError, match="shop/db-1"):
        service.add(request(2, DB1))

    later = PodRef("shop", "db-0", "uid-7")
    with pytest.raises(PoolExhaustedError, match="10.0.1.20 is still reserved for an earlier pod of that name"):
        service.add(request(3, later))
    set_status(service, ("10.0.1.20", "Bound", PodRef("shop", "db-0", "uid-7")))
    assert str(service.add(request(3, later)).allocation.ip) == "10.0.1.20"  # inside the 30 s cooldown
    assert clock.now == pytest.approx(1_700_000_000.0)


def test_a_second_sandbox_of_the_pod_waits_for_the_first_one_to_let_go(service):
    set_status(service, ("10.0.1.20", "Bound", DB0))
    service.add(request(1, DB0))
    with pytest.raises(PoolExhaustedError, match="10.0.1.20 is still held by an earlier sandbox"):
        service.add(request(2, DB0))
    service.delete(request(1, DB0))
    assert str(service.add(request(2, DB0)).allocation.ip) == "10.0.1.20"


def test_a_moving_ip_is_promised_back_once_its_pod_is_gone(service):
    set_status(service, ("10.0.1.20", "Bound", DB0))
    service.add(request(1, DB0))
    set_status(service, ("10.0.1.20", "Releasing", DB0))
    ledger = service.ledger
    assert ledger.promise_release(service.pool()) == frozenset()  # its pod still holds it
    service.delete(request(1, DB0))
    assert ledger.promise_release(service.pool()) == {A("10.0.1.20")}
    with pytest.raises(PoolExhaustedError, match="10.0.1.20 is being moved"):
        service.add(request(2, DB0))
    set_status(service, ("10.0.1.20", "Bound", DB0))  # ipamd kept it here after all: the promise ends
    assert ledger.promise_release(service.pool()) == frozenset()
    assert service.pool().state_of(A("10.0.1.20")) is IpState.BOUND
    assert str(service.add(request(2, DB0)).allocation.ip) == "10.0.1.20"


def test_an_add_waits_a_bounded_time_for_its_static_ip_and_takes_it_when_ipamd_lists_it(store, clock):
    svc = AgentService(Ledger(store, clock=clock), FakePodNetworker(),
                       settings=ServiceSettings(static_ip_wait=30.0))
    set_status(svc, ("10.0.1.20", "Bound", DB1))
    results = []
    worker = threading.Thread(target=lambda: results.append(svc.add(request(1, DB0))))
    worker.start()
    try:
        threading.Event().wait(0.1)
        assert results == [] and worker.is_alive()  # waiting, and holding no lock meanwhile:
        assert str(svc.add(request(2, DB1)).allocation.ip) == "10.0.1.20"
        set_status(svc, ("10.0.1.20", "Bound", DB1), ("10.0.1.21", "Bound", DB0))
        worker.join(10)
        assert not worker.is_alive()
        assert str(results[0].allocation.ip) == "10.0.1.21"
    finally:
        set_status(svc, ("10.0.1.21", "Bound", DB0))
        worker.join(10)
        svc.close()


def test_the_wait_ends_with_try_again_later_and_a_pool_ip_is_never_waited_for(store, clock):
    svc = AgentService(Ledger(store, clock=clock), FakePodNetworker(),
                       settings=ServiceSettings(static_ip_wait=0.05))
    set_status(svc, ("10.0.1.20", "Bound", DB1))
    with pytest.raises(PoolExhaustedError, match="shop/db-0"):
        svc.add(request(1, DB0))
    # Non-static, exhausted: no wait (the pool grows at ipamd's pace; the scheduler counts bound IPs).
    svc.update_pool(parse_pool(static_status(("10.0.1.20", "Bound", None))), {MAC: 2003})
    svc.add(request(2, DB1))
    with pytest.raises(PoolExhaustedError, match="no IP free yet: 1 in use") as e:
        svc.add(request(3, DB0))
    assert not isinstance(e.value, StaticIpPendingError)
    svc.close()
