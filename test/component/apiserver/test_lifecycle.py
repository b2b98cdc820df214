"""Finalizers, deletion propagation, garbage collection, CRD and namespace deletion."""

from __future__ import annotations

import kubernetes.client as k8s
import pytest
from kubernetes.client.rest import ApiException

GROUP = "test.tke.cloud.tencent.com"


def exists(read, *args) -> bool:
    try:
        read(*args)
        return True
    except ApiException as e:
        if e.status == 404:
            return False
        raise


def owner_ref(owner, *, kind="ConfigMap", api_version="v1") -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": owner.metadata.name, "uid": owner.metadata.uid}


def test_delete_with_finalizers_only_marks_until_the_last_one_goes(core, raw):
    core.create_namespaced_config_map("default", {"metadata": {"name": "c", "finalizers": ["x.io/a", "x.io/b"]}})
    code, marked = raw("DELETE", "/api/v1/namespaces/default/configmaps/c")
    assert code == 202
    assert marked["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("c", "default", {"metadata": {"finalizers": ["x.io/a", "x.io/b", "x.io/c"]}})
    assert caught.value.status == 422
    core.patch_namespaced_config_map("c", "default", {"metadata": {"finalizers": ["x.io/b"]}})
    assert core.read_namespaced_config_map("c", "default").metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("c", "default", {"metadata": {"finalizers": None}})
    assert not exists(core.read_namespaced_config_map, "c", "default")


def test_background_gc_deletes_dependents_of_a_deleted_owner(core, custom, widget_crd, widget_body, eventually):
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    other = core.create_namespaced_config_map("default", {"metadata": {"name": "other"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}})
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "shared", "ownerReferences": [owner_ref(owner), owner_ref(other)]}}
    )
    widget = widget_body("w")
    widget["metadata"]["ownerReferences"] = [owner_ref(other)]
    custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget)
    core.delete_namespaced_config_map("owner", "default")
    eventually(lambda: not exists(core.read_namespaced_config_map, "dep", "default"))

    def shared_owners() -> list[str]:
        refs = core.read_namespaced_config_map("shared", "default").metadata.owner_references or []
        return [r.name for r in refs]

    eventually(lambda: shared_owners() == ["other"])
    core.delete_namespaced_config_map("other", "default")
    eventually(lambda: not exists(custom.get_cluster_custom_object, GROUP, "v1", "nodewidgets", "w"))


def test_dependent_of_a_missing_owner_is_collected(core, eventually):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "00000000-dead-beef-0000-000000000000"}
    core.create_namespaced_config_map("default", {"metadata": {"name": "orphan", "ownerReferences": [ghost]}})
    eventually(lambda: not exists(core.read_namespaced_config_map, "orphan", "default"))


def test_foreground_deletion_removes_dependents_first(core, eventually):
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)], "finalizers": ["x.io/hold"]}}
    )
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    marked = core.read_namespaced_config_map("owner", "default")
    assert "foregroundDeletion" in marked.metadata.finalizers and marked.metadata.deletion_timestamp
    eventually(lambda: core.read_namespaced_config_map("dep", "default").metadata.deletion_timestamp)
    assert exists(core.read_namespaced_config_map, "owner", "default")
    core.patch_namespaced_config_map("dep", "default", {"metadata": {"finalizers": None}})
    eventually(lambda: not exists(core.read_namespaced_config_map, "owner", "default"))


def test_orphan_deletion_keeps_dependents_without_the_reference(core, eventually):
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}})
    core.delete_namespaced_config_map("owner", "default", body=k8s.V1DeleteOptions(propagation_policy="Orphan"))
    eventually(lambda: not exists(core.read_namespaced_config_map, "owner", "default"))
    dep = core.read_namespaced_config_map("dep", "default")
    assert not dep.metadata.owner_references


def test_deleting_a_crd_removes_its_objects_and_stops_serving_them(crds, custom, widget_crd, widget_body, raw):
    custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    assert raw("GET", f"/apis/{GROUP}/v1")[0] == 200
    crds.delete_custom_resource_definition(widget_crd["metadata"]["name"])
    assert raw("GET", f"/apis/{GROUP}/v1/nodewidgets")[0] == 404
    assert raw("GET", f"/apis/{GROUP}/v1")[0] == 404
    crds.create_custom_resource_definition(widget_crd)
    assert custom.list_cluster_custom_object(GROUP, "v1", "nodewidgets")["items"] == []


def test_deleting_a_namespace_deletes_its_contents(core, raw, pod_body, eventually):
    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_pod("team", pod_body("p", namespace="team"))
    code, marked = raw("DELETE", "/api/v1/namespaces/team")
    assert code == 202 and marked["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("team", {"metadata": {"name": "late"}})
    assert caught.value.status in (403, 404)
    eventually(lambda: not exists(core.read_namespace, "team"))
    assert not exists(core.read_namespaced_pod, "p", "team")


def test_reapplying_an_unchanged_crd_is_a_noop(crds, widget_crd):
    name = widget_crd["metadata"]["name"]
    current = crds.read_custom_resource_definition(name)
    assert {c.type: c.status for c in current.status.conditions} == {"NamesAccepted": "True", "Established": "True"}
    again = crds.replace_custom_resource_definition(name, current)
    assert again.metadata.resource_version == current.metadata.resource_version


def test_system_namespaces_cannot_be_deleted(core):
    for name in ("default", "kube-system"):
        with pytest.raises(ApiException) as caught:
            core.delete_namespace(name)
        assert caught.value.status == 403
    assert core.read_namespace("default").status.phase == "Active"


def test_graceful_pod_deletion_waits_for_the_kubelet(pod_body):
    from eni.runtime.testing.apiserver import FakeApiServer

    server = FakeApiServer(graceful_pod_deletion=True)
    server.start()
    client = server.api_client()
    try:
        core = k8s.CoreV1Api(client)
        core.create_namespaced_pod("default", pod_body("bound", node="n1"))
        core.create_namespaced_pod("default", pod_body("pending"))
        core.delete_namespaced_pod("pending", "default")
        assert not exists(core.read_namespaced_pod, "pending", "default")
        core.delete_namespaced_pod("bound", "default")
        marked = core.read_namespaced_pod("bound", "default")
        assert marked.metadata.deletion_timestamp is not None
        assert marked.metadata.deletion_grace_period_seconds == 30
        core.delete_namespaced_pod("bound", "default", grace_period_seconds=0)
        assert not exists(core.read_namespaced_pod, "bound", "default")
    finally:
        client.close()
        server.stop()
