"""NodeView over real SharedInformers fed by FakeListerWatcher: the NEC's status and spec, the node's live
pods (None until synced, finished pods left out), NEC change notifications; and the eni-ip device counts."""

import threading

import pytest

from eni.agent.deviceplugin import DeviceCounts
from eni.agent.ledger import PodRef
from eni.agent.nodeview import NodeView, bound_pod_ips, eni_ip_counts
from eni.agent.pool import parse_pool
from eni.api.v1 import NODE_ENI_CONFIG
from eni.runtime.cache.informer import SharedInformer
from eni.runtime.meta import POD
from eni.runtime.testing import FakeListerWatcher

NEC = {"apiVersion": "eni.tke.cloud.tencent.com/v1", "kind": "NodeENIConfig",
       "metadata": {"name": "node-1", "resourceVersion": "1"},
       "spec": {"instanceId": "ins-1", "maxENI": 2, "maxIPPerENI": 5}}


def pod(name, uid, phase="Running"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "default", "name": name, "uid": uid,
                                                            "resourceVersion": "1"},
            "spec": {"nodeName": "node-1"}, "status": {"phase": phase}}


@pytest.fixture
def informers():
    stop = threading.Event()
    made = {}

    def make(kind, objects):
        lw = FakeListerWatcher(objects)
        informer = SharedInformer(lw, name=kind.plural)
        made[kind.plural] = (informer, lw)
        return informer, lw

    yield make, stop
    stop.set()


def start(informer, stop):
    threading.Thread(target=informer.start, args=(stop,), daemon=True).start()
    assert informer.wait_for_sync(10, stop)


def test_view_answers_from_the_informers(informers):
    make, stop = informers
    nec, nec_lw = make(NODE_ENI_CONFIG, [NEC])
    pods, _ = make(POD, [pod("web", "u1"), pod("job", "u2", phase="Succeeded")])
    view = NodeView("node-1", nec=nec, pods=pods)
    changed = threading.Event()
    view.on_nec_change(changed.set)
    assert view.live_pods() is None  # not synced: GC must not run blind
    assert view.nec_status() is None and not view.nec_synced()
    start(nec, stop)
    start(pods, stop)
    assert changed.wait(5)
    assert view.nec_synced() and view.nec_status() == {} and view.nec_spec()["maxENI"] == 2
    assert view.live_pods() == [PodRef("default", "web", "u1")]


def test_eni_ip_counts_from_the_spec_limits_and_the_bound_ips(status_of):
    pool = parse_pool(status_of.two_enis(3, 2))
    assert bound_pod_ips(pool) == 5
    assert eni_ip_counts({"maxENI": 2, "maxIPPerENI": 5}, pool) == DeviceCounts(capacity=10, healthy=5)
    assert eni_ip_counts({}, pool) == DeviceCounts(capacity=5, healthy=5)  # no limits yet: what is bound
    assert eni_ip_counts({"maxENI": 1, "maxIPPerENI": 4}, pool) == DeviceCounts(capacity=4, healthy=4)
    releasing = status_of.two_enis(3, 2)
    releasing["enis"][0]["ips"][0]["state"] = "Releasing"
    assert eni_ip_counts({"maxENI": True, "maxIPPerENI": "5"}, parse_pool(releasing)) == DeviceCounts(4, 4)


def test_only_changes_the_agent_acts_on_wake_it_not_the_echo_of_its_own_report(informers):
    make, stop = informers
    nec, nec_lw = make(NODE_ENI_CONFIG, [NEC])
    pods, _ = make(POD, [])
    view = NodeView("node-1", nec=nec, pods=pods)
    calls = []
    view.on_nec_change(lambda: calls.append(1))
    start(nec, stop)
    _wait(lambda: len(calls) == 1)
    own_report = {**NEC, "status": {"agent": {"inUseIPs": ["10.0.1.20"]}}}
    nec_lw.modify(own_report)
    ipamd_change = {**NEC, "status": {"agent": {"inUseIPs": ["10.0.1.20"]}, "enis": []}}
    nec_lw.modify(ipamd_change)
    _wait(lambda: (view.nec_status() or {}).get("enis") == [])
    _wait(lambda: len(calls) == 2)
    spec_change = {**ipamd_change, "spec": {**NEC["spec"], "maxENI": 3}}
    nec_lw.modify(spec_change)
    _wait(lambda: len(calls) == 3)
    threading.Event().wait(0.1)
    assert len(calls) == 3


def _wait(predicate):
    for _ in range(500):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError("timed out")


def test_in_static_ip_mode_every_bindable_ip_is_allocatable(status_of):
    pool = parse_pool(status_of.two_enis(1, 0))
    assert eni_ip_counts({"maxENI": 2, "maxIPPerENI": 5}, pool, static_ips=True) == DeviceCounts(10, 10)
    assert eni_ip_counts({}, parse_pool({}), static_ips=True) == DeviceCounts(0, 0)  # limits unknown yet
