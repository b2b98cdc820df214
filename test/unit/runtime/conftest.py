import threading
import time

import pytest


class RecordingHandler:
    """A ResourceEventHandler recording ("add"|"update"|"delete", name, extra) and letting tests wait for events."""

    def __init__(self, informer=None):
        self.events = []
        self.informer = informer
        self.cache_views = {}
        self._cond = threading.Condition()

    def _record(self, event):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def on_add(self, obj, is_in_initial_list):
        if self.informer is not None:
            self.cache_views[obj["metadata"]["name"]] = self.informer.get_by_key(key(obj))
        self._record(("add", obj["metadata"]["name"], is_in_initial_list))

    def on_update(self, old, new):
        self._record(("update", new["metadata"]["name"], (old["metadata"].get("resourceVersion"),
                                                          new["metadata"].get("resourceVersion"))))

    def on_delete(self, obj):
        from eni.runtime.cache import DeletedFinalStateUnknown

        if isinstance(obj, DeletedFinalStateUnknown):
            self._record(("delete", obj.obj["metadata"]["name"], "tombstone"))
        else:
            self._record(("delete", obj["metadata"]["name"], None))

    def wait_for(self, count, timeout=10.0):
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.events) >= count, timeout)
        assert ok, f"expected {count} events, got {self.events}"
        return list(self.events)


def key(obj):
    md = obj["metadata"]
    return f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]


@pytest.fixture
def recording_handler():
    return RecordingHandler


@pytest.fixture
def running():
    """Start ``fn(stop)`` callables on threads; stop and join them at teardown."""
    stop = threading.Event()
    threads = []

    def start(fn):
        t = threading.Thread(target=fn, args=(stop,), daemon=True)
        t.start()
        threads.append(t)
        return t

    start.stop = stop
    yield start
    stop.set()
    deadline = time.monotonic() + 15
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a runnable did not stop"
