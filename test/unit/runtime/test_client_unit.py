"""KubeClient's client-side rate limit and request shapes, over a recording transport; the error table."""

import pytest

from eni.runtime.client import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    GoneError,
    InvalidError,
    KubeClient,
    NotFoundError,
    PatchType,
    Preconditions,
    PropagationPolicy,
    TooManyRequestsError,
)
from eni.runtime.client.errors import error_from_status
from eni.runtime.meta import NODE, POD, ObjectKey
from eni.runtime.testing import FakeClock


class RecordingTransport:
    timeout = 5.0

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer if answer is not None else {"metadata": {"name": "x"}}

    def request(self, method, path, *, query=(), body=None, content_type="application/json", timeout=None):
        self.calls.append((method, path, list(query), body, content_type))
        return self.answer


class SteppingClock(FakeClock):
    def wait(self, event, timeout):
        self.step(max(timeout, 0))
        return event.is_set()


def test_qps_and_burst_pace_requests_on_the_clock():
    clock = SteppingClock()
    client = KubeClient(RecordingTransport(), qps=2, burst=3, clock=clock)
    start = clock.monotonic()
    for _ in range(3):
        client.get(NODE, ObjectKey("", "n"))
    assert clock.monotonic() == start, "the burst goes out at once"
    for _ in range(4):
        client.get(NODE, ObjectKey("", "n"))
    assert clock.monotonic() - start == pytest.approx(2.0), "then 2 per second"


def test_request_shapes():
    transport = RecordingTransport()
    client = KubeClient(transport, qps=1000, burst=1000)
    client.list(POD, namespace="ns", label_selector="app=web", field_selector="spec.nodeName=n1")
    client.update_status(POD, {"metadata": {"name": "p", "namespace": "ns", "resourceVersion": "5"}})
    client.patch(POD, ObjectKey("ns", "p"), [{"op": "remove", "path": "/metadata/labels/x"}],
                 patch_type=PatchType.JSON)
    client.delete(POD, ObjectKey("ns", "p"), propagation_policy=PropagationPolicy.FOREGROUND,
                  preconditions=Preconditions(uid="u", resource_version="5"))
    listing, status, patch, delete = transport.calls
    assert listing[:3] == ("GET", "/api/v1/namespaces/ns/pods",
                           [("labelSelector", "app=web"), ("fieldSelector", "spec.nodeName=n1")])
    assert status[:2] == ("PUT", "/api/v1/namespaces/ns/pods/p/status")
    assert status[3]["kind"] == "Pod" and status[3]["metadata"]["resourceVersion"] == "5"
    assert patch[4] == "application/json-patch+json" and isinstance(patch[3], list)
    assert delete[3]["propagationPolicy"] == "Foreground"
    assert delete[3]["preconditions"] == {"uid": "u", "resourceVersion": "5"}


def test_a_non_object_answer_is_an_error():
    client = KubeClient(RecordingTransport(answer=["not", "an", "object"]))
    with pytest.raises(ApiError):
        client.get(NODE, ObjectKey("", "n"))


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (404, {"reason": "NotFound"}, NotFoundError),
        (409, {"reason": "AlreadyExists"}, AlreadyExistsError),
        (409, {"reason": "Conflict"}, ConflictError),
        (409, None, ConflictError),
        (410, {"reason": "Expired"}, GoneError),
        (200, {"kind": "Status", "code": 410, "reason": "Expired"}, GoneError),  # a watch ERROR event
        (422, {"reason": "Invalid", "message": "spec.x: Required value"}, InvalidError),
        (429, {}, TooManyRequestsError),
        (500, {"reason": "InternalError"}, ApiError),
        (503, "garbage", ApiError),
    ],
)
def test_error_table(status, body, cls):
    error = error_from_status(status, body)
    assert type(error) is cls
    assert isinstance(error, ApiError)


def test_error_keeps_reason_message_and_retry_after():
    error = error_from_status(429, {"reason": "TooManyRequests", "message": "slow down"}, retry_after=3)
    assert (error.reason, error.message, error.retry_after) == ("TooManyRequests", "slow down", 3)
