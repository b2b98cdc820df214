import threading
import time

import pytest

from eni.runtime.client import KubeClient, KubeTransport
from eni.runtime.testing.apiserver import FakeApiServer


@pytest.fixture
def apiserver():
    srv = FakeApiServer(persist_path=None)
    srv.start(host="127.0.0.1", port=0)
    yield srv
    srv.stop()


@pytest.fixture
def transport(apiserver):
    api_client = apiserver.api_client()
    yield KubeTransport(api_client, timeout=10)
    api_client.close()


@pytest.fixture
def kube(transport):
    return KubeClient(transport, qps=1000, burst=1000)


@pytest.fixture
def running():
    """Start ``fn(stop)`` callables on threads; stop and join them at teardown (each gets its own stop Event)."""
    started = []

    def start(fn, stop=None):
        stop = stop or threading.Event()
        t = threading.Thread(target=fn, args=(stop,), daemon=True)
        t.start()
        started.append((t, stop))
        return stop

    yield start
    for _, stop in started:
        stop.set()
    deadline = time.monotonic() + 15
    for t, _ in started:
        t.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t, _ in started), "a runnable did not stop"


def eventually(predicate, timeout=10.0, message="condition not reached"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(message)


@pytest.fixture
def wait_until():
    return eventually


class Journal:
    """A ResourceEventHandler that journals ("add"|"update"|"delete"|"tombstone", name)."""

    def __init__(self):
        self.events = []
        self._lock = threading.Lock()

    def _put(self, event):
        with self._lock:
            self.events.append(event)

    def on_add(self, obj, initial):
        self._put(("add", obj["metadata"]["name"]))

    def on_update(self, old, new):
        self._put(("update", new["metadata"]["name"]))

    def on_delete(self, obj):
        from eni.runtime.cache import DeletedFinalStateUnknown

        if isinstance(obj, DeletedFinalStateUnknown):
            self._put(("tombstone", obj.obj["metadata"]["name"]))
        else:
            self._put(("delete", obj["metadata"]["name"]))


@pytest.fixture
def journal():
    return Journal
