"""Reflector + informer semantics over an in-memory ListerWatcher: list, watch, drop, 410 relist, resync."""

import time

from eni.runtime.cache import InformerCache, SharedInformer
from eni.runtime.meta import POD
from eni.runtime.testing import FakeClock, FakeListerWatcher


def pod(name, node="n1", ns="default"):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node}}


def test_initial_list_then_watch_events_in_order(recording_handler, running):
    lw = FakeListerWatcher([pod("a"), pod("b")])
    informer = SharedInformer(lw, name="pods")
    handler = recording_handler(informer)
    informer.add_event_handler(handler)
    running(informer.start)
    assert informer.wait_for_sync(10)
    lw.create(pod("c"))
    lw.modify(pod("a", node="n2"))
    lw.remove(pod("b"))
    events = handler.wait_for(5)
    assert sorted(events[:2]) == [("add", "a", True), ("add", "b", True)]
    assert events[2] == ("add", "c", False)
    assert events[3][:2] == ("update", "a")
    assert events[4] == ("delete", "b", None)
    assert informer.get_by_key("default/a")["spec"]["nodeName"] == "n2"
    assert informer.get_by_key("default/b") is None
    # "b" may legitimately be gone from the store by the time its add is handled; "a" and "c" never are.
    assert handler.cache_views["a"] is not None and handler.cache_views["c"] is not None, \
        "handlers run after the store is updated"


def test_dropped_watch_resumes_from_last_version_without_loss_or_duplicates(recording_handler, running):
    lw = FakeListerWatcher([pod("a")])
    informer = SharedInformer(lw, name="pods")
    handler = recording_handler()
    informer.add_event_handler(handler)
    running(informer.start)
    lw.create(pod("b"))
    handler.wait_for(2)
    lw.drop_watches()
    lw.create(pod("c"))  # happens while no watch is open
    lw.modify(pod("b", node="n9"))
    events = handler.wait_for(4)
    time.sleep(0.2)  # give a buggy reflector the chance to deliver duplicates
    assert [e[:2] for e in handler.events] == [("add", "a"), ("add", "b"), ("add", "c"), ("update", "b")]
    assert lw.lists == 1, "a dropped watch must not relist"
    assert lw.watch_versions[1] == "2", "the re-watch starts from the last version seen"
    assert events[3][2] == ("2", "4")


def test_gone_relists_and_reports_missed_deletes_as_tombstones(recording_handler, running):
    lw = FakeListerWatcher([pod("a"), pod("b")])
    informer = SharedInformer(lw, name="pods")
    handler = recording_handler()
    informer.add_event_handler(handler)
    running(informer.start)
    handler.wait_for(2)
    lw.set_silently([pod("a"), pod("new")])  # b deleted and "new" created while we were not looking
    lw.compact()
    events = handler.wait_for(5)
    assert lw.lists == 2
    assert set(events[2:]) == {("add", "new", False), ("delete", "b", "tombstone"), ("update", "a", ("1", "3"))}
    assert sorted(o["metadata"]["name"] for o in informer.list()) == ["a", "new"]


def test_list_failures_are_retried(recording_handler, running):
    lw = FakeListerWatcher([pod("a")])
    lw.fail_next_lists = 1
    clock = FakeClock()
    informer = SharedInformer(lw, name="pods", clock=clock)
    running(informer.start)
    clock.wait_for_waiters(1)
    assert not informer.has_synced()
    clock.step(60)
    assert informer.wait_for_sync(10)


def test_resync_redelivers_every_object_as_an_update(recording_handler, running):
    lw = FakeListerWatcher([pod("a")])
    clock = FakeClock()
    informer = SharedInformer(lw, name="pods", clock=clock, resync_period=30)
    handler = recording_handler()
    informer.add_event_handler(handler)
    running(informer.start)
    handler.wait_for(1)
    clock.wait_for_waiters(1)
    clock.step(30)
    events = handler.wait_for(2)
    assert events[1] == ("update", "a", ("1", "1"))


def test_late_handler_gets_existing_objects_once(recording_handler, running):
    lw = FakeListerWatcher([pod("a"), pod("b")])
    informer = SharedInformer(lw, name="pods")
    running(informer.start)
    assert informer.wait_for_sync(10)
    handler = recording_handler()
    registration = informer.add_event_handler(handler)
    assert registration.wait_for_sync(10)
    lw.create(pod("c"))
    events = handler.wait_for(3)
    assert sorted(events[:2]) == [("add", "a", True), ("add", "b", True)]
    assert events[2] == ("add", "c", False)


def test_a_failing_handler_does_not_stop_the_informer_or_other_handlers(recording_handler, running):
    lw = FakeListerWatcher()
    informer = SharedInformer(lw, name="pods")

    class Exploding:
        def on_add(self, obj, initial):
            raise RuntimeError("handler bug")

        def on_update(self, old, new):
            raise RuntimeError("handler bug")

        def on_delete(self, obj):
            raise RuntimeError("handler bug")

    informer.add_event_handler(Exploding())
    handler = recording_handler()
    informer.add_event_handler(handler)
    running(informer.start)
    lw.create(pod("a"))
    lw.create(pod("b"))
    assert [e[1] for e in handler.wait_for(2)] == ["a", "b"]


def test_informer_cache_shares_one_informer_per_selection():
    made = []

    def factory(kind, selector):
        made.append((kind.plural, selector))
        return FakeListerWatcher()

    cache = InformerCache(factory)
    a = cache.informer_for(POD)
    b = cache.informer_for(POD)
    c = cache.informer_for(POD, field_selector="spec.nodeName=n1")
    assert a is b
    assert c is not a
    assert len(made) == 2
    assert made[1][1].field_selector == "spec.nodeName=n1"


def test_informer_cache_starts_informers_requested_after_start(running):
    lws = {}

    def factory(kind, selector):
        lws[kind.plural] = FakeListerWatcher([pod("x")])
        return lws[kind.plural]

    cache = InformerCache(factory)
    running(cache.start)
    informer = cache.informer_for(POD)
    assert informer.wait_for_sync(10)
    assert cache.wait_for_sync(10)
    assert [o["metadata"]["name"] for o in cache.list(POD, namespace="default")] == ["x"]
    assert cache.list(POD, namespace="other") == []
