"""The in-memory FakeClient keeps the API server's write semantics, and the conflict-retry helpers."""

import pytest

from eni.runtime.client import (
    AlreadyExistsError,
    Client,
    ConflictError,
    InvalidError,
    NotFoundError,
    PatchType,
    Preconditions,
    mutate_with_retry,
    retry_on_conflict,
)
from eni.runtime.meta import NODE, POD, ObjectKey
from eni.runtime.testing import FakeClient, FakeClock

_: Client = FakeClient()
KEY = ObjectKey("default", "web")


def new_pod(**spec):
    return {"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", **spec}}


@pytest.fixture
def client():
    return FakeClient()


def test_create_sets_server_fields_and_rejects_duplicates(client):
    created = client.create(POD, new_pod())
    md = created["metadata"]
    assert md["uid"] and md["creationTimestamp"] and md["generation"] == 1 and md["resourceVersion"]
    assert created["kind"] == "Pod" and created["apiVersion"] == "v1"
    with pytest.raises(AlreadyExistsError):
        client.create(POD, new_pod())
    with pytest.raises(InvalidError):
        client.create(POD, {"metadata": {"name": "no-namespace"}})
    with pytest.raises(InvalidError):
        client.create(NODE, {"metadata": {"name": "n", "namespace": "x"}})


def test_stale_update_conflicts_and_status_is_separate(client):
    created = client.create(POD, new_pod())
    created["spec"]["nodeName"] = "n2"
    created["status"] = {"phase": "Running"}
    updated = client.update(POD, created)
    assert updated["spec"]["nodeName"] == "n2"
    assert "status" not in updated, "update never writes status"
    assert updated["metadata"]["generation"] == 2
    with pytest.raises(ConflictError):
        client.update(POD, created)  # still carries the old resourceVersion
    with_status = client.update_status(POD, {**updated, "status": {"phase": "Running"}, "spec": {"nodeName": "zz"}})
    assert with_status["status"] == {"phase": "Running"}
    assert with_status["spec"]["nodeName"] == "n2", "update_status never writes spec"
    assert with_status["metadata"]["generation"] == 2


def test_noop_write_keeps_the_version(client):
    created = client.create(POD, new_pod())
    again = client.update(POD, created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_merge_and_json_patches(client):
    client.create(POD, new_pod())
    patched = client.patch(POD, KEY, {"metadata": {"labels": {"app": None, "tier": "x"}}})
    assert patched["metadata"]["labels"] == {"tier": "x"}
    patched = client.patch(POD, KEY, [{"op": "replace", "path": "/spec/nodeName", "value": "n3"}],
                           patch_type=PatchType.JSON)
    assert patched["spec"]["nodeName"] == "n3"
    with pytest.raises(InvalidError):
        client.patch(POD, KEY, [{"op": "test", "path": "/spec/nodeName", "value": "nope"}], patch_type=PatchType.JSON)
    assert client.get(POD, KEY)["spec"]["nodeName"] == "n3", "a failed patch changes nothing"


def test_list_with_selectors(client):
    client.create(POD, new_pod())
    client.create(POD, {"metadata": {"name": "db", "namespace": "default", "labels": {"app": "db"}},
                        "spec": {"nodeName": "n2"}})
    client.create(POD, {"metadata": {"name": "x", "namespace": "other"}, "spec": {"nodeName": "n1"}})
    names = lambda objs: [o["metadata"]["name"] for o in objs]  # noqa: E731
    assert names(client.list(POD, namespace="default")) == ["db", "web"]
    assert names(client.list(POD, label_selector="app in (web,db),app!=db")) == ["web"]
    assert names(client.list(POD, field_selector="spec.nodeName=n1")) == ["web", "x"]
    assert names(client.list(POD, label_selector="!app")) == ["x"]


def test_delete_with_finalizers_and_preconditions(client):
    created = client.create(POD, {**new_pod(), "metadata": {**new_pod()["metadata"], "finalizers": ["f"]}})
    with pytest.raises(ConflictError):
        client.delete(POD, KEY, preconditions=Preconditions(uid="other"))
    client.delete(POD, KEY, preconditions=Preconditions(uid=created["metadata"]["uid"]))
    marked = client.get(POD, KEY)
    assert marked["metadata"]["deletionTimestamp"]
    client.patch(POD, KEY, {"metadata": {"finalizers": None}})
    with pytest.raises(NotFoundError):
        client.get(POD, KEY)
    with pytest.raises(NotFoundError):
        client.delete(POD, KEY)


def test_interceptors_inject_errors(client):
    client.create(POD, new_pod())

    def fail_updates(verb, kind, key):
        if verb == "update":
            raise ConflictError(409, "Conflict", "injected")

    client.intercept(fail_updates)
    with pytest.raises(ConflictError):
        client.update(POD, client.get(POD, KEY))


def test_mutate_with_retry_retries_conflicts_and_skips_noops(client):
    client.create(POD, new_pod())
    racing = {"left": 2}

    def racer(verb, kind, key):
        if verb == "update" and racing["left"]:
            racing["left"] -= 1
            raise ConflictError(409, "Conflict", "someone else wrote first")

    client.intercept(racer)
    result = mutate_with_retry(client, POD, KEY, lambda obj: obj["metadata"]["labels"].update(seen="1"),
                               clock=FakeClockThatNeverBlocks())
    assert result["metadata"]["labels"]["seen"] == "1"
    writes = [a for a in client.actions if a[0] == "update"]
    assert len(writes) == 3
    mutate_with_retry(client, POD, KEY, lambda obj: None, clock=FakeClockThatNeverBlocks())
    assert len([a for a in client.actions if a[0] == "update"]) == 3, "no change, no write"


def test_retry_on_conflict_gives_up_after_its_steps():
    calls = []

    def always_conflicts():
        calls.append(1)
        raise ConflictError(409, "Conflict", "x")

    with pytest.raises(ConflictError):
        retry_on_conflict(always_conflicts, steps=3, clock=FakeClockThatNeverBlocks())
    assert len(calls) == 3


class FakeClockThatNeverBlocks(FakeClock):
    """Waits return at once, advancing the fake time: retries in unit tests take no real time."""

    def wait(self, event, timeout):
        self.step(max(timeout, 0))
        return event.is_set()
