"""The event recorder: aggregation of repeats, rate limiting, and never raising into callers."""

from eni.runtime.client import ApiError
from eni.runtime.events import WARNING, EventRecorder
from eni.runtime.meta import EVENT, POD
from eni.runtime.testing import FakeClient, FakeClock

POD_OBJ = {"metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7"}}


def test_repeats_are_aggregated_into_one_event():
    client, clock = FakeClient(), FakeClock()
    recorder = EventRecorder(client, component="ipamd", host="node-1", clock=clock)
    recorder.event(POD_OBJ, reason="AssignFailed", message="subnet full", type=WARNING, kind=POD)
    assert recorder.flush()
    clock.step(30)
    recorder.event(POD_OBJ, reason="AssignFailed", message="subnet full", type=WARNING, kind=POD)
    recorder.event(POD_OBJ, reason="Assigned", message="10.0.0.5", kind=POD)
    assert recorder.flush()
    events = client.objects(EVENT)
    assert len(events) == 2
    failed = next(e for e in events if e["reason"] == "AssignFailed")
    assert failed["count"] == 2
    assert failed["firstTimestamp"] == "2026-01-01T00:00:00Z"
    assert failed["lastTimestamp"] == "2026-01-01T00:00:30Z"
    assert failed["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "default", "name": "web",
                                        "uid": "u1", "resourceVersion": "7"}
    assert failed["source"] == {"component": "ipamd", "host": "node-1"}
    assert failed["type"] == "Warning"
    recorder.close()


def test_an_event_deleted_meanwhile_is_recreated():
    client = FakeClient()
    recorder = EventRecorder(client, component="c", clock=FakeClock())
    recorder.event(POD_OBJ, reason="R", message="m", kind=POD)
    recorder.flush()
    first = client.objects(EVENT)[0]
    client.delete(EVENT, __import__("eni.runtime.meta", fromlist=["key_of"]).key_of(first))
    recorder.event(POD_OBJ, reason="R", message="m", kind=POD)
    recorder.flush()
    assert [e["count"] for e in client.objects(EVENT)] == [1]
    recorder.close()


def test_spam_filter_limits_events_per_object():
    client, clock = FakeClient(), FakeClock()
    recorder = EventRecorder(client, component="c", clock=clock, burst=3)
    for i in range(10):
        recorder.event(POD_OBJ, reason="R", message=f"m{i}", kind=POD)
    recorder.flush()
    assert len(client.objects(EVENT)) == 3
    assert recorder.dropped == 7
    clock.step(300)
    recorder.event(POD_OBJ, reason="R", message="later", kind=POD)
    recorder.flush()
    assert len(client.objects(EVENT)) == 4
    recorder.close()


def test_api_failures_and_garbage_never_reach_the_caller():
    client = FakeClient()

    def broken(verb, kind, key):
        raise ApiError(500, "InternalError", "etcd is down")

    client.intercept(broken)
    recorder = EventRecorder(client, component="c", clock=FakeClock())
    recorder.event(POD_OBJ, reason="R", message="m", kind=POD)
    recorder.event({"metadata": None}, reason="R", message="m")
    recorder.event("not an object", reason="R", message="m")  # type: ignore[arg-type]
    assert recorder.flush()
    recorder.close()
    recorder.event(POD_OBJ, reason="after close", message="m", kind=POD)
