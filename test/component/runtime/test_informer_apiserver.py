"""The real reflector/informer over HTTP against the fake API server: list+watch, 410, drops, resync, selectors."""

from eni.runtime.cache import InformerCache, SharedInformer
from eni.runtime.cache.listwatch import KubeListerWatcher, Selector
from eni.runtime.client import KubeClient, KubeTransport
from eni.runtime.meta import CONFIG_MAP, POD, ObjectKey
from eni.runtime.testing.apiserver import FakeApiServer


def pod(name, node="n1", ns="default"):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}}


def test_list_then_watch(apiserver, transport, kube, running, journal, wait_until):
    kube.create(POD, pod("a"))
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods")
    j = journal()
    informer.add_event_handler(j)
    running(informer.start)
    assert informer.wait_for_sync(10)
    kube.create(POD, pod("b"))
    kube.patch(POD, ObjectKey("default", "a"), {"metadata": {"labels": {"x": "1"}}})
    kube.delete(POD, ObjectKey("default", "b"))
    wait_until(lambda: len(j.events) >= 4, message=str(j.events))
    assert j.events == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "b")]
    assert informer.get_by_key("default/a")["metadata"]["labels"] == {"x": "1"}
    assert informer.get_by_key("default/b") is None


def test_dropped_watch_loses_and_duplicates_nothing(apiserver, transport, kube, running, journal, wait_until):
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods")
    j = journal()
    informer.add_event_handler(j)
    running(informer.start)
    assert informer.wait_for_sync(10)
    kube.create(POD, pod("a"))
    wait_until(lambda: len(j.events) == 1)
    for round_ in range(3):
        assert apiserver.drop_watches() >= 1 or round_ > 0
        kube.create(POD, pod(f"p{round_}"))
        kube.patch(POD, ObjectKey("default", "a"), {"metadata": {"labels": {"round": str(round_)}}})
    wait_until(lambda: len(j.events) >= 7, message=str(j.events))
    wait_until(lambda: informer.get_by_key("default/a")["metadata"]["labels"] == {"round": "2"})
    expected = [("add", "a")]
    for round_ in range(3):
        expected += [("add", f"p{round_}"), ("update", "a")]
    assert j.events == expected
    assert informer.reflector.lists == 1, "a dropped watch resumes; it does not relist"
    assert informer.reflector.watches >= 2


def test_gone_forces_a_relist_and_the_cache_converges(apiserver, transport, kube, running, journal, wait_until):
    kube.create(POD, pod("a"))
    kube.create(POD, pod("b"))
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods")
    j = journal()
    informer.add_event_handler(j)
    running(informer.start)
    assert informer.wait_for_sync(10)
    kube.create(CONFIG_MAP, {"metadata": {"name": "bump", "namespace": "default"}})  # moves the global version
    apiserver.compact()
    apiserver.drop_watches()
    wait_until(lambda: informer.reflector.lists == 2, message="410 Gone must trigger a relist")
    kube.delete(POD, ObjectKey("default", "b"))
    kube.create(POD, pod("c"))
    wait_until(lambda: sorted(o["metadata"]["name"] for o in informer.list()) == ["a", "c"])
    wait_until(lambda: ("add", "c") in j.events)
    assert j.events.count(("add", "a")) == 1, "an unchanged object is not re-added by a relist"
    assert [e for e in j.events if e[1] == "b"][-1][0] in ("delete", "tombstone")


def test_resync_redelivers_cached_objects(apiserver, transport, kube, running, journal, wait_until):
    kube.create(POD, pod("a"))
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods", resync_period=0.2)
    j = journal()
    informer.add_event_handler(j)
    running(informer.start)
    wait_until(lambda: j.events.count(("update", "a")) >= 2, message=str(j.events))
    assert informer.reflector.lists == 1


def test_field_selector_scopes_the_informer(apiserver, transport, kube, running, wait_until):
    kube.create(POD, pod("mine", node="n1"))
    kube.create(POD, pod("theirs", node="n2"))
    cache = InformerCache.over(transport)
    informer = cache.informer_for(POD, field_selector="spec.nodeName=n1")
    running(cache.start)
    assert cache.wait_for_sync(10)
    kube.create(POD, pod("mine-too", node="n1"))
    kube.create(POD, pod("theirs-too", node="n2"))
    wait_until(lambda: informer.get_by_key("default/mine-too") is not None)
    assert sorted(o["metadata"]["name"] for o in informer.list()) == ["mine", "mine-too"]


def test_label_selector_scopes_the_informer(apiserver, transport, kube, running, wait_until):
    informer = SharedInformer(KubeListerWatcher(transport, POD, Selector(label_selector="app=web")), name="web")
    running(informer.start)
    assert informer.wait_for_sync(10)
    kube.create(POD, {**pod("w"), "metadata": {"name": "w", "namespace": "default", "labels": {"app": "web"}}})
    kube.create(POD, pod("x"))
    wait_until(lambda: informer.get_by_key("default/w") is not None)
    assert [o["metadata"]["name"] for o in informer.list()] == ["w"]


def test_two_handlers_share_one_watch(apiserver, transport, kube, running, journal, wait_until):
    cache = InformerCache.over(transport)
    first, second = cache.informer_for(POD), cache.informer_for(POD)
    assert first is second
    j1, j2 = journal(), journal()
    first.add_event_handler(j1)
    second.add_event_handler(j2)
    running(cache.start)
    assert cache.wait_for_sync(10)
    kube.create(POD, pod("a"))
    wait_until(lambda: j1.events == [("add", "a")] and j2.events == [("add", "a")])
    assert first.reflector.watches == 1


def test_bookmarks_advance_the_resume_version(running, journal, wait_until):
    server = FakeApiServer(persist_path=None, bookmark_interval=0.1)
    server.start(host="127.0.0.1", port=0)
    api_client = server.api_client()
    try:
        local = KubeTransport(api_client, timeout=10)
        client = KubeClient(local, qps=1000, burst=1000)
        informer = SharedInformer(KubeListerWatcher(local, POD), name="pods")
        j = journal()
        informer.add_event_handler(j)
        stop = running(informer.start)
        assert informer.wait_for_sync(10)
        other = client.create(CONFIG_MAP, {"metadata": {"name": "elsewhere", "namespace": "default"}})
        version = other["metadata"]["resourceVersion"]
        wait_until(lambda: informer.reflector.last_sync_resource_version == version,
                   message="a bookmark must move the pod reflector to the latest version")
        server.drop_watches()
        client.create(POD, pod("after-drop"))
        wait_until(lambda: j.events == [("add", "after-drop")], message=str(j.events))
        assert informer.reflector.lists == 1
        stop.set()
    finally:
        server.stop()
        api_client.close()
