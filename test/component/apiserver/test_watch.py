"""Watch semantics: initial events, replay, 410 after compaction, dropped streams, bookmarks, selectors."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException

GROUP = "test.tke.cloud.tencent.com"


def collect(func, *, count: int, timeout: float = 10.0, **kwargs) -> list[tuple[str, str]]:
    """The first ``count`` (type, name) events of a watch; stops the watch afterwards."""
    w = watch.Watch()
    out = []
    for event in w.stream(func, _request_timeout=timeout, **kwargs):
        obj = event["object"]
        name = obj["metadata"]["name"] if isinstance(obj, dict) else obj.metadata.name
        out.append((event["type"], name))
        if len(out) >= count:
            w.stop()
    return out


class Background:
    """Runs a watch in a thread and hands its raw events to the test."""

    def __init__(self, func, **kwargs) -> None:
        self.events: queue.Queue = queue.Queue()
        self.watch = watch.Watch()
        self.ended = threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            try:
                for event in self.watch.stream(func, _request_timeout=30, **kwargs):
                    self.events.put(event)
            except BaseException as e:  # surfaced to the test through .error
                self.error = e
            finally:
                self.ended.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 10.0) -> dict:
        return self.events.get(timeout=timeout)

    def stop(self) -> None:
        self.watch.stop()


def test_watch_without_version_sends_initial_added_then_live_events(core, pod_body):
    core.create_namespaced_pod("default", pod_body("a"))
    core.create_namespaced_pod("default", pod_body("b"))
    bg = Background(core.list_namespaced_pod, namespace="default")
    try:
        first = [bg.next(), bg.next()]
        assert [(e["type"], e["object"].metadata.name) for e in first] == [("ADDED", "a"), ("ADDED", "b")]
        core.patch_namespaced_pod("a", "default", {"metadata": {"labels": {"x": "1"}}})
        core.delete_namespaced_pod("b", "default")
        live = [bg.next(), bg.next()]
        assert [(e["type"], e["object"].metadata.name) for e in live] == [("MODIFIED", "a"), ("DELETED", "b")]
    finally:
        bg.stop()


def test_watch_from_resource_version_replays_history(core, pod_body):
    listed = core.list_namespaced_pod("default")
    core.create_namespaced_pod("default", pod_body("a"))
    core.delete_namespaced_pod("a", "default")
    events = collect(
        core.list_namespaced_pod, count=2, namespace="default", resource_version=listed.metadata.resource_version
    )
    assert events == [("ADDED", "a"), ("DELETED", "a")]


def test_watch_from_compacted_version_gets_410_expired(apiserver, core, pod_body, raw):
    listed = core.list_namespaced_pod("default")
    core.create_namespaced_pod("default", pod_body("a"))
    apiserver.compact()
    code, body = raw(
        "GET", f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={listed.metadata.resource_version}"
    )
    assert code == 200
    assert body["type"] == "ERROR"
    assert body["object"]["code"] == 410 and body["object"]["reason"] == "Expired"
    with pytest.raises(ApiException) as caught:
        collect(
            core.list_namespaced_pod, count=1, namespace="default", resource_version=listed.metadata.resource_version
        )
    assert caught.value.status == 410
    current = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", pod_body("b"))
    assert collect(core.list_namespaced_pod, count=1, namespace="default", resource_version=current) == [("ADDED", "b")]


def test_bounded_history_expires_old_versions(core):
    from eni.runtime.testing.apiserver import FakeApiServer

    small = FakeApiServer(watch_history=3)
    small.start()
    try:
        client = small.api_client()
        import kubernetes.client as k8s

        api = k8s.CoreV1Api(client)
        start = api.list_namespaced_config_map("default").metadata.resource_version
        for i in range(5):
            api.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        with pytest.raises(ApiException) as caught:
            collect(api.list_namespaced_config_map, count=1, namespace="default", resource_version=start)
        assert caught.value.status == 410
        client.close()
    finally:
        small.stop()


def test_drop_watches_ends_streams(apiserver, core):
    bg = Background(core.list_namespaced_pod, namespace="default", timeout_seconds=60)
    deadline = time.monotonic() + 5
    while apiserver.store.hub.open_streams() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert apiserver.drop_watches() == 1
    assert bg.ended.wait(5), "the client did not see the stream end"
    assert bg.error is None


def test_timeout_seconds_ends_the_stream(core):
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_pod, namespace="default", timeout_seconds=1))
    assert events == []
    assert time.monotonic() - started < 10


def test_bookmarks_carry_the_current_resource_version(core, raw, apiserver):
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    code, body = raw(
        "GET",
        f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    assert code == 200
    lines = [json.loads(line) for line in body.splitlines()] if isinstance(body, str) else [body]
    bookmarks = [e for e in lines if e["type"] == "BOOKMARK"]
    assert bookmarks, lines
    assert bookmarks[0]["object"]["metadata"]["resourceVersion"] == rv
    assert bookmarks[0]["object"]["kind"] == "ConfigMap"


def test_send_initial_events_ends_with_a_marked_bookmark(core, raw):
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    query = "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    code, body = raw("GET", f"/api/v1/namespaces/default/configmaps?{query}")
    events = [json.loads(line) for line in body.splitlines()]
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_label_selector_watch_sees_objects_move_in_and_out(core, pod_body):
    core.create_namespaced_pod("default", pod_body("p", labels={"tier": "web"}))
    bg = Background(core.list_namespaced_pod, namespace="default", label_selector="tier in (web,api)")
    try:
        assert bg.next()["type"] == "ADDED"
        core.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"tier": "db"}}})
        out = bg.next()
        assert out["type"] == "DELETED" and out["object"].metadata.labels == {"tier": "web"}
        core.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"other": "x"}}})
        core.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"tier": "api"}}})
        back = bg.next()
        assert back["type"] == "ADDED" and back["object"].metadata.labels["tier"] == "api"
        assert int(back["object"].metadata.resource_version) > int(out["object"].metadata.resource_version)
    finally:
        bg.stop()


def test_field_selector_watch_on_node_name(core, pod_body):
    core.create_namespaced_pod("default", pod_body("mine", node="n1"))
    core.create_namespaced_pod("default", pod_body("theirs", node="n2"))
    bg = Background(core.list_pod_for_all_namespaces, field_selector="spec.nodeName=n1")
    try:
        assert bg.next()["object"].metadata.name == "mine"
        core.patch_namespaced_pod("theirs", "default", {"metadata": {"labels": {"a": "b"}}})
        core.patch_namespaced_pod("mine", "default", {"metadata": {"labels": {"a": "b"}}})
        event = bg.next()
        assert (event["type"], event["object"].metadata.name) == ("MODIFIED", "mine")
    finally:
        bg.stop()


def test_watch_custom_objects_and_legacy_watch_prefix(custom, widget_crd, widget_body, raw):
    custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w1"))
    events = collect(custom.list_cluster_custom_object, count=1, group=GROUP, version="v1", plural="nodewidgets")
    assert events == [("ADDED", "w1")]
    code, body = raw("GET", f"/apis/{GROUP}/v1/watch/nodewidgets?timeoutSeconds=1")
    assert code == 200 and body["type"] == "ADDED" and body["object"]["metadata"]["name"] == "w1"


def test_field_selector_watch_on_phase_sees_objects_move_in_and_out(core, pod_body):
    core.create_namespaced_pod("default", pod_body("p", node="n1"))
    bg = Background(core.list_namespaced_pod, namespace="default", field_selector="status.phase=Running")
    try:
        core.patch_namespaced_pod_status("p", "default", {"status": {"phase": "Running"}})
        entered = bg.next()
        assert (entered["type"], entered["object"].status.phase) == ("ADDED", "Running")
        core.patch_namespaced_pod_status("p", "default", {"status": {"phase": "Succeeded"}})
        left = bg.next()
        assert (left["type"], left["object"].metadata.name) == ("DELETED", "p")
        assert left["object"].status.phase == "Running", "the leaving event carries the last matching state"
    finally:
        bg.stop()


def test_bookmarks_only_when_asked(core, raw):
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    code, body = raw("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert code == 200
    assert body in ("", b"", None), f"no event happened and no bookmark was asked for: {body!r}"
