"""Builder wiring: for_ enqueues the object, owns enqueues only the controller owner, watches maps."""

import threading
import time

import pytest

from eni.runtime.builder import ControllerBuilder
from eni.runtime.cache import InformerCache
from eni.runtime.handler import enqueue_mapped, enqueue_owner
from eni.runtime.manager import Manager, ManagerSettings
from eni.runtime.meta import POD, ResourceKind
from eni.runtime.predicate import generation_changed, labels_changed
from eni.runtime.reconcile import Request, Result
from eni.runtime.testing import FakeListerWatcher

REPLICA_SET = ResourceKind(group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True)
CONFIG = ResourceKind(group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True)


def owner(name, *, controller, kind="ReplicaSet", api_version="apps/v1"):
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": name, "controller": controller}


class Recorder:
    def __init__(self):
        self.requests = []
        self._cond = threading.Condition()

    def reconcile(self, request):
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
        return Result()

    def wait_for(self, request, timeout=10):
        with self._cond:
            assert self._cond.wait_for(lambda: request in self.requests, timeout), self.requests


@pytest.fixture
def world(running):
    sources = {}

    def factory(kind, selector):
        return sources.setdefault(kind.plural, FakeListerWatcher())

    mgr = Manager(cache=InformerCache(factory), settings=ManagerSettings(health_port=None))
    return mgr, sources


def test_owns_enqueues_only_the_controller_owner_of_the_for_kind(world, running):
    mgr, sources = world
    recorder = Recorder()
    ControllerBuilder(mgr).for_(REPLICA_SET).owns(POD).named("rs").complete(recorder)
    running(mgr.start)
    sources["pods"].create({"metadata": {"name": "p1", "namespace": "ns", "ownerReferences": [
        owner("rs-other", controller=False), owner("rs-main", controller=True)]}})
    sources["pods"].create({"metadata": {"name": "p2", "namespace": "ns", "ownerReferences": [
        owner("job", controller=True, kind="Job", api_version="batch/v1")]}})
    sources["replicasets"].create({"metadata": {"name": "marker", "namespace": "ns"}})
    recorder.wait_for(Request("ns", "rs-main"))
    recorder.wait_for(Request("ns", "marker"))
    time.sleep(0.1)
    assert Request("ns", "rs-other") not in recorder.requests, "non-controller owners are ignored"
    assert Request("ns", "job") not in recorder.requests, "owners of another kind are ignored"
    assert Request("ns", "p1") not in recorder.requests


def test_watches_with_mapping_and_predicates(world, running):
    mgr, sources = world
    recorder = Recorder()
    (
        ControllerBuilder(mgr)
        .for_(REPLICA_SET, predicates=[generation_changed()])
        .watches(CONFIG, enqueue_mapped(lambda cm: [Request("ns", cm["metadata"]["labels"]["for"])]),
                 predicates=[labels_changed()])
        .named("rs")
        .complete(recorder)
    )
    running(mgr.start)
    sources["configmaps"].create({"metadata": {"name": "cm", "namespace": "ns", "labels": {"for": "a"}}})
    recorder.wait_for(Request("ns", "a"))
    sources["configmaps"].modify({"metadata": {"name": "cm", "namespace": "ns", "labels": {"for": "b"}}})
    recorder.wait_for(Request("ns", "b"))
    rs = {"metadata": {"name": "r", "namespace": "ns", "generation": 1}}
    sources["replicasets"].create(rs)
    recorder.wait_for(Request("ns", "r"))
    count = recorder.requests.count(Request("ns", "r"))
    sources["replicasets"].modify({"metadata": {**rs["metadata"], "labels": {"x": "y"}}})  # same generation
    sources["replicasets"].modify({"metadata": {**rs["metadata"], "generation": 2}})
    sources["replicasets"].create({"metadata": {"name": "sentinel", "namespace": "ns", "generation": 1}})
    recorder.wait_for(Request("ns", "sentinel"))
    assert recorder.requests.count(Request("ns", "r")) == count + 1, "only the generation change passes"


def test_two_controllers_on_one_kind_share_one_informer(world):
    mgr, sources = world
    first = ControllerBuilder(mgr).for_(POD).named("a").complete(Recorder())
    second = ControllerBuilder(mgr).for_(POD).named("b").complete(Recorder())
    assert first._watches[0].informer is second._watches[0].informer
    assert len(sources) == 1


def test_builder_requires_for():
    with pytest.raises(ValueError):
        ControllerBuilder(Manager(cache=InformerCache(lambda k, s: FakeListerWatcher()))).complete(Recorder())


def test_enqueue_owner_maps_cluster_scoped_owners_without_namespace():
    node_kind = ResourceKind(group="", version="v1", kind="Node", plural="nodes", namespaced=False)
    handler = enqueue_owner(node_kind)
    pod = {"metadata": {"name": "p", "namespace": "ns",
                        "ownerReferences": [owner("n1", controller=True, kind="Node", api_version="v1")]}}
    assert list(handler.requests_for_add(pod)) == [Request("", "n1")]
