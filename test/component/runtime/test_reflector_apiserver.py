"""The reflector's list and watch loop against the fake API server: paged lists, an expired continue token,
watches ended by ``timeoutSeconds`` and resumed, and deletes missed while cut off reported as tombstones."""

import threading

import pytest

from eni.runtime.cache import DeletedFinalStateUnknown, SharedInformer
from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import TransportError
from eni.runtime.meta import CONFIG_MAP, POD, ObjectKey


def pod(name):
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}


def names(items):
    return sorted(o["metadata"]["name"] for o in items)


def test_list_pages_through_limit_and_continue(kube, transport):
    for i in range(7):
        kube.create(POD, pod(f"p{i}"))
    lister_watcher = KubeListerWatcher(transport, POD, page_size=3)
    result = lister_watcher.list()
    assert names(result.items) == [f"p{i}" for i in range(7)]
    assert lister_watcher.pages == 3, "7 pods in pages of 3 take 3 requests"
    latest = kube.get(POD, ObjectKey("default", "p6"))["metadata"]["resourceVersion"]
    assert result.resource_version == latest, "the list is at the version of its first page's snapshot"


def test_page_size_zero_lists_in_one_request_and_negative_is_refused(kube, transport):
    for i in range(4):
        kube.create(POD, pod(f"p{i}"))
    lister_watcher = KubeListerWatcher(transport, POD, page_size=0)
    assert len(lister_watcher.list().items) == 4
    assert lister_watcher.pages == 1
    with pytest.raises(ValueError):
        KubeListerWatcher(transport, POD, page_size=-1)


class CompactAfterFirstPage:
    """A transport that, after answering the first list page, moves the version on and compacts the history,
    so the continue token it handed out is expired (410) when the next page is asked for."""

    def __init__(self, inner, apiserver, kube):
        self._inner, self._apiserver, self._kube = inner, apiserver, kube
        self.timeout = inner.timeout
        self.queries = []

    def request(self, method, path, **kwargs):
        self.queries.append(dict(kwargs.get("query", ())))
        answer = self._inner.request(method, path, **kwargs)
        if len(self.queries) == 1:
            self._kube.create(POD, pod("late"))
            self._apiserver.compact()
        return answer

    def stream(self, path, **kwargs):
        return self._inner.stream(path, **kwargs)


def test_expired_continue_token_falls_back_to_one_full_list(apiserver, kube, transport):
    for i in range(5):
        kube.create(POD, pod(f"p{i}"))
    compacting = CompactAfterFirstPage(transport, apiserver, kube)
    lister_watcher = KubeListerWatcher(compacting, POD, page_size=2)
    result = lister_watcher.list()
    assert [("continue" in q, "limit" in q) for q in compacting.queries] == [
        (False, True), (True, True), (False, False)]
    assert names(result.items) == ["late"] + [f"p{i}" for i in range(5)]
    late = kube.get(POD, ObjectKey("default", "late"))["metadata"]["resourceVersion"]
    assert result.resource_version == late, "the fallback list's version replaces the expired snapshot's"


def test_server_timeout_ends_each_watch_and_the_reflector_rewatches_without_loss(
        kube, transport, running, journal, wait_until):
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods", min_watch_timeout=1)
    j = journal()
    informer.add_event_handler(j)
    running(informer.start)
    assert informer.wait_for_sync(10)
    created = []
    for round_ in range(3):
        watches = informer.reflector.watches
        wait_until(lambda seen=watches: informer.reflector.watches > seen, timeout=15,
                   message="timeoutSeconds must end the watch and the reflector must watch again")
        created.append(f"r{round_}")
        kube.create(POD, pod(f"r{round_}"))
    wait_until(lambda: len(j.events) == 3, message=str(j.events))
    assert j.events == [("add", name) for name in created]
    assert informer.reflector.lists == 1, "a watch that timed out resumes from its version; it does not relist"


class Unpluggable:
    """A ListerWatcher whose watches fail with a transport error while unplugged (a network cut)."""

    def __init__(self, inner):
        self._inner = inner
        self.plugged = threading.Event()
        self.plugged.set()
        self.refused = 0

    def list(self):
        return self._inner.list()

    def watch(self, *, resource_version, timeout_seconds):
        if not self.plugged.is_set():
            self.refused += 1
            raise TransportError("cable unplugged")
        return self._inner.watch(resource_version=resource_version, timeout_seconds=timeout_seconds)


def test_objects_deleted_while_disconnected_are_tombstones_after_the_relist(
        apiserver, kube, transport, running, journal, wait_until):
    kube.create(POD, pod("stays"))
    kube.create(POD, pod("goes"))
    cable = Unpluggable(KubeListerWatcher(transport, POD))
    informer = SharedInformer(cable, name="pods")
    j = journal()
    deletes = []
    informer.add_event_handler(j)
    informer.add_event_handler(type("Deletes", (), {
        "on_add": lambda self, obj, initial: None,
        "on_update": lambda self, old, new: None,
        "on_delete": lambda self, obj: deletes.append(obj),
    })())
    running(informer.start)
    assert informer.wait_for_sync(10)
    cable.plugged.clear()
    # Keep closing streams: a watch that passed the plug just before the cut may register only now.
    wait_until(lambda: apiserver.drop_watches() >= 0 and cable.refused >= 1)
    kube.delete(POD, ObjectKey("default", "goes"))
    kube.create(CONFIG_MAP, {"metadata": {"name": "bump", "namespace": "default"}})
    apiserver.compact()
    cable.plugged.set()
    wait_until(lambda: informer.reflector.lists == 2, timeout=15, message="the 410 on re-watch must relist")
    wait_until(lambda: ("tombstone", "goes") in j.events, message=str(j.events))
    assert names(informer.list()) == ["stays"]
    assert j.events == [("add", "goes"), ("add", "stays"), ("tombstone", "goes")] or \
        j.events == [("add", "stays"), ("add", "goes"), ("tombstone", "goes")]
    wait_until(lambda: len(deletes) == 1)
    assert isinstance(deletes[0], DeletedFinalStateUnknown)
    assert deletes[0].key == "default/goes"
    assert deletes[0].obj["metadata"]["name"] == "goes", "the tombstone carries the last cached state"
