"""KubeClient against the fake API server: CRUD, typed errors, status subresource, patches, preconditions."""

import pytest

from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import (
    AlreadyExistsError,
    ApiError,
    Client,
    ConflictError,
    GoneError,
    KubeClient,
    NotFoundError,
    PatchType,
    Preconditions,
    PropagationPolicy,
    TransportError,
    mutate_with_retry,
)
from eni.runtime.client.transport import KubeTransport
from eni.runtime.meta import CONFIG_MAP, NODE, POD, ObjectKey

KEY = ObjectKey("default", "web")


def pod(**labels):
    return {"metadata": {"name": "web", "namespace": "default", "labels": labels},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx"}]}}


def test_conforms_to_the_client_protocol(kube):
    _: Client = kube


def test_create_get_list_and_typed_errors(kube):
    created = kube.create(POD, pod(app="web"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    assert kube.get(POD, KEY)["spec"]["nodeName"] == "n1"
    with pytest.raises(AlreadyExistsError) as exc:
        kube.create(POD, pod())
    assert exc.value.reason == "AlreadyExists" and exc.value.status == 409
    with pytest.raises(NotFoundError):
        kube.get(POD, ObjectKey("default", "missing"))
    kube.create(NODE, {"metadata": {"name": "n1", "labels": {"zone": "a"}}})
    assert [n["metadata"]["name"] for n in kube.list(NODE, label_selector="zone=a")] == ["n1"]
    assert [p["metadata"]["name"] for p in kube.list(POD, namespace="default", field_selector="spec.nodeName=n1")] \
        == ["web"]
    assert kube.list(POD, field_selector="spec.nodeName=n2") == []


def test_stale_update_conflicts_and_mutate_with_retry_wins(kube):
    stale = kube.create(POD, pod())
    kube.patch(POD, KEY, {"metadata": {"labels": {"by": "someone-else"}}})
    with pytest.raises(ConflictError):
        kube.update(POD, {**stale, "metadata": {**stale["metadata"], "labels": {"mine": "1"}}})
    result = mutate_with_retry(kube, POD, KEY, lambda obj: obj["metadata"]["labels"].update(mine="1"))
    assert result["metadata"]["labels"] == {"by": "someone-else", "mine": "1"}


def test_status_subresource_is_written_separately(kube):
    kube.create(POD, pod())
    live = kube.get(POD, KEY)
    written = kube.update_status(POD, {**live, "status": {"phase": "Running", "podIP": "10.0.0.9"}})
    assert written["status"]["podIP"] == "10.0.0.9"
    live = kube.get(POD, KEY)
    updated = kube.update(POD, {**live, "status": {"phase": "Failed"}})
    assert updated["status"]["phase"] == "Running", "a main-resource update ignores status"
    patched = kube.patch(POD, KEY, {"status": {"phase": "Succeeded"}}, subresource="status")
    assert patched["status"]["phase"] == "Succeeded"


def test_three_patch_types(kube):
    kube.create(POD, pod(a="1"))
    merged = kube.patch(POD, KEY, {"metadata": {"labels": {"a": None, "b": "2"}}})
    assert merged["metadata"]["labels"] == {"b": "2"}
    jsoned = kube.patch(POD, KEY, [{"op": "add", "path": "/metadata/labels/c", "value": "3"}],
                        patch_type=PatchType.JSON)
    assert jsoned["metadata"]["labels"] == {"b": "2", "c": "3"}
    strategic = kube.patch(POD, KEY, {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}},
                           patch_type=PatchType.STRATEGIC)
    assert [c["name"] for c in strategic["spec"]["containers"]] == ["app", "sidecar"], "merged by the name key"
    with pytest.raises(ValueError):
        kube.patch(POD, KEY, {"not": "a list"}, patch_type=PatchType.JSON)


def test_delete_with_preconditions_and_propagation(kube):
    created = kube.create(CONFIG_MAP, {"metadata": {"name": "cm", "namespace": "default"}, "data": {"k": "v"}})
    key = ObjectKey("default", "cm")
    with pytest.raises(ConflictError):
        kube.delete(CONFIG_MAP, key, preconditions=Preconditions(uid="not-the-uid"))
    kube.delete(CONFIG_MAP, key, preconditions=Preconditions(uid=created["metadata"]["uid"]),
                propagation_policy=PropagationPolicy.BACKGROUND)
    with pytest.raises(NotFoundError):
        kube.get(CONFIG_MAP, key)
    with pytest.raises(NotFoundError):
        kube.delete(CONFIG_MAP, key)


def test_invalid_objects_are_typed(kube):
    with pytest.raises(ApiError) as exc:
        kube.create(POD, {"metadata": {"name": "Not_Valid!", "namespace": "default"}, "spec": {}})
    assert exc.value.status in (400, 422)
    assert kube.list(POD) == [], "a rejected create changes nothing"


def test_watch_from_a_compacted_version_raises_gone(apiserver, kube, transport):
    lister_watcher = KubeListerWatcher(transport, CONFIG_MAP)
    old_version = lister_watcher.list().resource_version
    kube.create(CONFIG_MAP, {"metadata": {"name": "a", "namespace": "default"}})
    kube.create(CONFIG_MAP, {"metadata": {"name": "b", "namespace": "default"}})
    apiserver.compact()
    with pytest.raises(GoneError):
        for _ in lister_watcher.watch(resource_version=old_version, timeout_seconds=5):
            pass


def test_unreachable_server_is_a_transport_error(apiserver):
    api_client = apiserver.api_client()
    api_client.configuration.host = "http://127.0.0.1:9"
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    client = KubeClient(KubeTransport(api_client, timeout=2))
    with pytest.raises(TransportError):
        client.get(POD, KEY)


def test_kube_lease_lock_keeps_lease_metadata_and_detects_races(kube):
    from datetime import UTC, datetime

    from eni.runtime.leaderelection import KubeLeaseLock, LeaderElectionRecord
    from eni.runtime.meta import LEASE

    now = datetime(2026, 1, 1, tzinfo=UTC)
    a = KubeLeaseLock(kube, namespace="default", name="lock", identity="a")
    b = KubeLeaseLock(kube, namespace="default", name="lock", identity="b")
    assert a.get() is None
    a.create(LeaderElectionRecord("a", 15, now, now, 0))
    with pytest.raises(AlreadyExistsError):
        b.create(LeaderElectionRecord("b", 15, now, now, 0))
    kube.patch(LEASE, ObjectKey("default", "lock"), {"metadata": {"labels": {"owner": "ipamd"}}})
    record, version = a.get()
    assert record.holder_identity == "a" and record.acquire_time == now
    _, same_version = b.get()
    later = now.replace(second=2)
    a.update(LeaderElectionRecord("a", 15, now, later, 0), version)
    with pytest.raises(ConflictError):
        b.update(LeaderElectionRecord("b", 15, now, now, 1), same_version)
    lease = kube.get(LEASE, ObjectKey("default", "lock"))
    assert lease["metadata"]["labels"] == {"owner": "ipamd"}
    assert lease["spec"]["renewTime"] == "2026-01-01T00:00:02.000000Z"
