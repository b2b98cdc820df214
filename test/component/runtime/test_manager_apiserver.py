"""Managers against the fake API server: Lease competition and takeover, start/stop order, event aggregation."""

import socket
import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest
from prometheus_client import CollectorRegistry

from eni.runtime.builder import ControllerBuilder
from eni.runtime.leaderelection import LeaderElectionSettings
from eni.runtime.manager import EXIT_OK, LeaseName, Manager, ManagerSettings
from eni.runtime.meta import EVENT, LEASE, POD, ObjectKey
from eni.runtime.reconcile import Request, Result

SHORT = LeaderElectionSettings(lease_duration=2.0, renew_deadline=1.5, retry_period=0.3)


class Active:
    """A leader runnable that records when it runs."""

    def __init__(self, name, journal):
        self.name, self.journal = name, journal
        self.running = threading.Event()

    def need_leader_election(self):
        return True

    def start(self, stop):
        self.journal.append(f"{self.name} leads")
        self.running.set()
        stop.wait(60)
        self.stopped_wall = time.time()
        self.running.clear()
        self.journal.append(f"{self.name} stops")


def manager(apiserver, identity):
    return Manager.for_api_client(
        apiserver.api_client(),
        settings=ManagerSettings(leader_election=SHORT, graceful_shutdown_timeout=5),
        lease=LeaseName(namespace="default", name="tke-eni-ipamd", identity=identity),
        registry=CollectorRegistry(),
    )


def test_only_one_manager_leads_and_the_other_takes_over(apiserver, kube, wait_until):
    journal = []
    first, second = manager(apiserver, "a"), manager(apiserver, "b")
    a, b = Active("a", journal), Active("b", journal)
    first.add(a)
    second.add(b)
    stop_a, stop_b = threading.Event(), threading.Event()
    codes = {}
    ta = threading.Thread(target=lambda: codes.setdefault("a", first.start(stop_a)))
    tb = threading.Thread(target=lambda: codes.setdefault("b", second.start(stop_b)))
    ta.start()
    wait_until(a.running.is_set, message="the first manager must lead")
    tb.start()
    try:
        time.sleep(2 * SHORT.lease_duration)  # b competes for several lease durations and must keep losing
        assert not b.running.is_set()
        lease = kube.get(LEASE, ObjectKey("default", "tke-eni-ipamd"))
        assert lease["spec"]["holderIdentity"] == "a"
        assert lease["spec"]["leaseDurationSeconds"] == 2
        stop_a.set()  # a stops renewing (no release: there is no graceful step-down)
        ta.join(10)
        assert codes["a"] == EXIT_OK
        wait_until(b.running.is_set, timeout=10, message="b must take over after the lease expires")
        lease = kube.get(LEASE, ObjectKey("default", "tke-eni-ipamd"))
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] == 1
        assert journal == ["a leads", "a stops", "b leads"]
    finally:
        stop_a.set()
        stop_b.set()
        ta.join(10)
        tb.join(10)
    assert codes["b"] == EXIT_OK


def test_leader_that_cannot_renew_exits_non_zero(apiserver, kube, wait_until):
    journal = []
    mgr = manager(apiserver, "a")
    a = Active("a", journal)
    mgr.add(a)
    codes = []
    t = threading.Thread(target=lambda: codes.append(mgr.start(threading.Event())))
    t.start()
    wait_until(a.running.is_set)
    # another writer takes the lease away: every renewal now sees a foreign, valid holder
    kube.patch(LEASE, ObjectKey("default", "tke-eni-ipamd"), {"spec": {"holderIdentity": "intruder"}})
    t.join(10)
    assert codes == [1]
    assert journal == ["a leads", "a stops"]


def test_manager_runs_controllers_over_synced_caches_and_stops_in_reverse(apiserver, kube, running, wait_until):
    kube.create(POD, {"metadata": {"name": "p", "namespace": "default"},
                      "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}})
    mgr = Manager.for_api_client(apiserver.api_client(), registry=CollectorRegistry())
    seen = []
    synced_at_first_reconcile = []

    def reconcile(request):
        synced_at_first_reconcile.append(mgr.cache.has_synced())
        seen.append(request)
        return Result()

    from eni.runtime.reconcile import ReconcilerFunc

    ControllerBuilder(mgr).for_(POD).named("pods").complete(ReconcilerFunc(reconcile))
    running(mgr.start)
    wait_until(lambda: Request("default", "p") in seen)
    assert synced_at_first_reconcile[0]
    assert mgr.metrics.registry.get_sample_value(
        "eni_reconcile_total", {"controller": "pods", "result": "success"}) >= 1


def test_event_aggregation_against_the_api_server(apiserver, kube):
    target = kube.create(POD, {"metadata": {"name": "web", "namespace": "default"},
                               "spec": {"containers": [{"name": "c", "image": "x"}]}})
    mgr = Manager.for_api_client(apiserver.api_client(), settings=ManagerSettings(health_port=None),
                                 registry=CollectorRegistry())
    recorder = mgr.event_recorder("tke-eni-ipamd", host="test")
    stop = threading.Event()
    runner = threading.Thread(target=mgr.start, args=(stop,))
    runner.start()
    for _ in range(3):
        recorder.event(target, reason="IPAssigned", message="10.0.0.7", kind=POD)
    recorder.event(target, reason="ENIAttached", message="eni-1", kind=POD)
    stop.set()  # the manager flushes the recorder on the way out
    runner.join(15)
    assert not runner.is_alive()
    assert recorder.flush(10)
    events = kube.list(EVENT, namespace="default")
    by_reason = {e["reason"]: e for e in events}
    assert sorted(by_reason) == ["ENIAttached", "IPAssigned"]
    assert by_reason["IPAssigned"]["count"] == 3
    assert by_reason["ENIAttached"]["count"] == 1
    assert by_reason["IPAssigned"]["involvedObject"]["uid"] == target["metadata"]["uid"]


class StallingProxy:
    """A loopback TCP relay to the API server that can fail or hang requests, as a broken server or network would.

    ``refuse()`` resets every connection at once (requests fail fast); ``stall()`` keeps connections open but
    relays nothing (requests hang until their client gives up).
    """

    def __init__(self, target_url):
        host, port = target_url.removeprefix("http://").rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.mode = "relay"
        self._closed = threading.Event()
        self._sockets = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def refuse(self):
        self.mode = "refuse"

    def stall(self):
        self.mode = "stall"

    def close(self):
        self._closed.set()
        for t in self._threads:
            t.join(5)
        for s in [self._listener, *self._sockets]:
            s.close()

    def _accept(self):
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self.mode == "refuse":
                client.close()
                continue
            self._sockets.append(client)
            if self.mode == "stall":
                continue  # held open, never read
            upstream = socket.create_connection(self._target, timeout=5)
            self._sockets.append(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src, dst):
        src.settimeout(0.1)
        while not self._closed.is_set():
            if self.mode == "stall":
                self._closed.wait(0.1)  # bytes stay unread in the kernel buffers
                continue
            if self.mode == "refuse":
                for s in (src, dst):
                    s.shutdown(socket.SHUT_RDWR)
                return
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                dst.sendall(data)
            except OSError:
                return


@pytest.fixture
def proxy(apiserver):
    p = StallingProxy(apiserver.url)
    yield p
    p.close()


HARD = LeaderElectionSettings(lease_duration=4.0, renew_deadline=2.0, retry_period=0.5)


def test_leader_whose_lease_requests_hang_exits_non_zero_before_another_acquires(apiserver, proxy, kube, wait_until):
    journal = []
    leader_api = apiserver.api_client()
    leader_api.configuration.host = proxy.url
    settings = ManagerSettings(leader_election=HARD, graceful_shutdown_timeout=5, health_port=None)
    name = LeaseName(namespace="default", name="tke-eni-ipamd", identity="a")
    first = Manager.for_api_client(leader_api, settings=settings, lease=name, registry=CollectorRegistry())
    second = Manager.for_api_client(apiserver.api_client(), settings=settings, lease=replace(name, identity="b"),
                                    registry=CollectorRegistry())
    a, b = Active("a", journal), Active("b", journal)
    first.add(a)
    second.add(b)
    exits = {}
    stop_a, stop_b = threading.Event(), threading.Event()

    def run(key, mgr, stop):
        code = mgr.start(stop)
        exits[key] = (code, time.monotonic())

    ta = threading.Thread(target=run, args=("a", first, stop_a), daemon=True)
    tb = threading.Thread(target=run, args=("b", second, stop_b), daemon=True)
    ta.start()
    try:
        wait_until(a.running.is_set, message="the first manager must lead")
        tb.start()
        time.sleep(HARD.lease_duration)  # b keeps losing while a renews
        assert not b.running.is_set()
        # a's renewals fail fast for a while, then the one started just before its deadline hangs: a timeout
        # per request alone would keep a leading until that request gives up, well past the deadline.
        proxy.refuse()
        time.sleep(HARD.renew_deadline - HARD.retry_period - 0.2)
        proxy.stall()
        a_renewed = None
        give_up = time.monotonic() + 15
        while not b.running.is_set() and time.monotonic() < give_up:
            spec = kube.get(LEASE, ObjectKey("default", "tke-eni-ipamd"))["spec"]
            if spec["holderIdentity"] == "a":
                a_renewed = datetime.fromisoformat(spec["renewTime"].replace("Z", "+00:00")).timestamp()
            time.sleep(0.02)
        assert b.running.is_set(), "b must take over once a's lease expired"
        b_led_at = time.monotonic()
        ta.join(10)
        assert exits["a"][0] == 1
        assert exits["a"][1] < b_led_at, "the hung leader must be gone before the other one leads"
        assert journal[:3] == ["a leads", "a stops", "b leads"]
        lease = kube.get(LEASE, ObjectKey("default", "tke-eni-ipamd"))
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] == 1
        # a's last renewTime is when its last successful round started; it stopped renew_deadline after that.
        late = a.stopped_wall - a_renewed
        assert HARD.renew_deadline - 0.1 < late < HARD.renew_deadline + 0.5, late
    finally:
        stop_a.set()
        stop_b.set()
        ta.join(10)
        tb.join(10)
        leader_api.close()
    assert exits["b"][0] == EXIT_OK
