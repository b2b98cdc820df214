"""Managers against the fake API server: Lease competition and takeover, start/stop order, event aggregation."""

import threading
import time

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
