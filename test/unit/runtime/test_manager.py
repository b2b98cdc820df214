"""Manager start/stop order, exit codes, health endpoints; leader election with an in-memory Lease."""

import threading
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from eni.runtime.cache import InformerCache
from eni.runtime.leaderelection import LeaderElectionSettings
from eni.runtime.manager import (
    EXIT_FAILED,
    EXIT_OK,
    LOST_LEASE_SHUTDOWN_SECONDS,
    Manager,
    ManagerSettings,
    RunnableFunc,
)
from eni.runtime.meta import POD
from eni.runtime.testing import FakeLease, FakeListerWatcher

FAST = LeaderElectionSettings(lease_duration=1.0, renew_deadline=0.6, retry_period=0.2)


class Step:
    """A runnable that logs its start and stop into a shared journal."""

    def __init__(self, name, journal, *, leader):
        self.name, self.journal, self.leader = name, journal, leader
        self.started = threading.Event()

    def need_leader_election(self):
        return self.leader

    def start(self, stop):
        self.journal.append(f"start {self.name}")
        self.started.set()
        stop.wait(30)
        self.journal.append(f"stop {self.name}")


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def make_manager(journal, lease=None, identity="a"):
    lw = FakeListerWatcher([{"metadata": {"name": "p", "namespace": "d"}}])

    def factory(kind, selector):
        journal.append("cache lists")
        return lw

    cache = InformerCache(factory)
    cache.informer_for(POD)
    return Manager(
        cache=cache,
        lease_lock=lease.lock_for(identity) if lease else None,
        settings=ManagerSettings(leader_election=FAST, graceful_shutdown_timeout=5),
        registry=CollectorRegistry(),
    )


def test_start_order_then_reverse_stop_order_and_exit_zero():
    journal = []
    mgr = make_manager(journal, FakeLease())
    leader = Step("leader", journal, leader=True)
    other = Step("other", journal, leader=False)
    mgr.add(leader)
    mgr.add(other)
    stop = threading.Event()
    result = []
    t = threading.Thread(target=lambda: result.append(mgr.start(stop)))
    t.start()
    assert leader.started.wait(10)
    assert mgr.cache.has_synced()
    assert journal[:3] == ["cache lists", "start other", "start leader"]
    stop.set()
    t.join(15)
    assert result == [EXIT_OK]
    assert journal[3:] == ["stop leader", "stop other"]


def test_health_endpoints_and_metrics_while_running():
    journal = []
    mgr = make_manager(journal)
    ready = Step("r", journal, leader=True)
    mgr.add(ready)
    broken = {"on": False}

    def check():
        if broken["on"]:
            raise RuntimeError("disk full")

    mgr.add_healthz_check("disk", check)
    stop = threading.Event()
    t = threading.Thread(target=mgr.start, args=(stop,))
    t.start()
    try:
        assert ready.started.wait(10)
        url = mgr.health.url
        assert http_get(url + "/healthz") == (200, "ok")
        assert http_get(url + "/readyz") == (200, "ok")
        status, body = http_get(url + "/readyz?verbose")
        assert status == 200 and "[+]informers ok" in body
        broken["on"] = True
        status, body = http_get(url + "/healthz")
        assert status == 500 and "[-]disk failed: disk full" in body
        assert http_get(url + "/healthz/ping")[0] == 200
        assert http_get(url + "/healthz/nope")[0] == 500
        assert http_get(url + "/nothing")[0] == 404
        status, body = http_get(url + "/metrics")
        assert status == 200 and "eni_workqueue_depth" in body
    finally:
        stop.set()
        t.join(15)


def test_losing_the_lease_returns_non_zero_promptly():
    journal = []
    lease = FakeLease()
    mgr = make_manager(journal, lease)
    leader = Step("leader", journal, leader=True)
    mgr.add(leader)
    result = []
    t = threading.Thread(target=lambda: result.append(mgr.start(threading.Event())))
    t.start()
    assert leader.started.wait(10)
    assert mgr.metrics.registry.get_sample_value("eni_leader_election_master_status", {"name": "fake-lease"}) == 1
    mgr.elector.lock.fail_writes = True
    lost_at = time.monotonic()
    t.join(10)
    assert result == [EXIT_FAILED]
    assert time.monotonic() - lost_at < 5
    assert "stop leader" in journal


def test_hung_renewal_returns_non_zero_within_the_renew_deadline_even_with_a_stuck_runnable():
    journal = []
    mgr = make_manager(journal, FakeLease())
    release_stuck = threading.Event()

    def stuck(stop):  # a controller that ignores its stop Event
        journal.append("stuck runs")
        release_stuck.wait(30)

    mgr.add(RunnableFunc(stuck, need_leader_election=True))
    result = []
    t = threading.Thread(target=lambda: result.append(mgr.start(threading.Event())))
    t.start()
    try:
        deadline = time.monotonic() + 10
        while "stuck runs" not in journal and time.monotonic() < deadline:
            time.sleep(0.01)
        assert mgr.elector.is_leader()
        mgr.elector.lock.stall()  # the API server stops answering the lease requests
        leading_until = mgr.elector.leading_until()
        t.join(10)
        returned_at = time.monotonic()
        assert result == [EXIT_FAILED]
        # Lost at leading_until (renew_deadline after the last renewal), then the stuck runnable gets its 1 s.
        assert returned_at - leading_until < LOST_LEASE_SHUTDOWN_SECONDS + 2.0, returned_at - leading_until
        status = mgr.metrics.registry.get_sample_value("eni_leader_election_master_status", {"name": "fake-lease"})
        assert status == 0
    finally:
        release_stuck.set()
        mgr.elector.lock.release()
        t.join(10)


def test_a_failing_runnable_stops_the_manager_with_exit_one():
    journal = []
    mgr = make_manager(journal)

    def explode(stop):
        raise RuntimeError("cannot bind")

    mgr.add(RunnableFunc(explode))
    assert mgr.start(threading.Event()) == EXIT_FAILED


def test_unsynced_cache_fails_start():
    class NeverLists:
        def list(self):
            from eni.runtime.client import TransportError

            raise TransportError("refused")

        def watch(self, **kwargs):
            raise AssertionError("no watch before a list")

    cache = InformerCache(lambda kind, selector: NeverLists())
    cache.informer_for(POD)
    mgr = Manager(cache=cache, settings=ManagerSettings(health_port=None, cache_sync_timeout=0.3))
    assert mgr.start(threading.Event()) == EXIT_FAILED


def test_invalid_lease_timings_are_rejected_up_front():
    with pytest.raises(ValueError):
        Manager(cache=InformerCache(lambda k, s: FakeListerWatcher()), lease_lock=FakeLease().lock_for("a"),
                settings=ManagerSettings(leader_election=LeaderElectionSettings(10, 10, 2)))


def test_health_server_survives_garbage():
    import socket

    from eni.runtime.healthz import HealthServer

    server = HealthServer(CollectorRegistry())
    server.start()
    try:
        host, port = server.address
        assert host == "127.0.0.1"
        garbage_requests = (b"\x00\xff\xfe garbage\r\n\r\n", b"GET /healthz HTTP/9.9\r\n\r\n",
                            b"POST /healthz HTTP/1.1\r\n\r\n")
        for garbage in garbage_requests:
            with socket.create_connection((host, port), timeout=5) as conn:
                conn.sendall(garbage)
                answer = b""
                while chunk := conn.recv(4096):
                    answer += chunk
                assert b"Error" in answer and (b"400" in answer or b"501" in answer or b"505" in answer), answer
        assert http_get(server.url + "/healthz") == (200, "ok")
    finally:
        server.stop()
