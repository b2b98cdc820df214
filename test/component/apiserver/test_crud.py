"""Create/get/update/delete semantics through the official client and raw HTTP."""

from __future__ import annotations

import json

import kubernetes.client as k8s
import pytest
from kubernetes.client.rest import ApiException

from eni.runtime.testing.apiserver.errors import StatusError

GROUP = "test.tke.cloud.tencent.com"


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def test_create_returns_201_with_server_fields_and_one_global_counter(core, raw, pod_body):
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})
    code, pod = raw("POST", "/api/v1/namespaces/default/pods", json.dumps(pod_body("p")))
    assert code == 201
    assert first.metadata.uid and first.metadata.creation_timestamp is not None
    assert first.metadata.generation == 1
    assert int(pod["metadata"]["resourceVersion"]) == int(first.metadata.resource_version) + 1
    assert pod["status"]["phase"] == "Pending"
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"


def test_get_missing_is_404_with_status_body(core):
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("nope", "default")
    assert caught.value.status == 404
    body = status_of(caught.value)
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'pods "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "pods"}


def test_create_existing_is_409_already_exists(core, pod_body):
    core.create_namespaced_pod("default", pod_body("dup"))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod("default", pod_body("dup"))
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "AlreadyExists"


def test_update_with_stale_resource_version_is_409_conflict_and_changes_nothing(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}, "data": {"v": "1"}})
    fresh = core.read_namespaced_config_map("cm", "default")
    fresh.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("cm", "default", fresh)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    created.data = {"v": "3"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("cm", "default", created)
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("cm", "default").data == {"v": "2"}


def test_noop_update_keeps_resource_version(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "same"}, "data": {"v": "1"}})
    again = core.replace_namespaced_config_map("same", "default", created)
    assert again.metadata.resource_version == created.metadata.resource_version


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {"name": "Bad_Name"}}, "metadata.name"),
        ({"metadata": {}}, "metadata.name"),
        ({"metadata": {"name": "x", "namespace": "kube-system"}}, "metadata.namespace"),
        ({"kind": "Secret", "metadata": {"name": "x"}}, "kind"),
        ({"metadata": {"name": "x", "labels": {"bad key!": "v"}}}, "metadata.labels"),
    ],
)
def test_invalid_objects_are_422_with_causes(raw, body, field):
    code, status = raw("POST", "/api/v1/namespaces/default/configmaps", json.dumps(body))
    assert code == 422, status
    assert status["reason"] == "Invalid" and status["kind"] == "Status"
    assert field in [c["field"] for c in status["details"]["causes"]]
    assert raw("GET", "/api/v1/namespaces/default/configmaps")[1]["items"] == []


def test_pod_without_containers_is_invalid(raw):
    code, status = raw("POST", "/api/v1/namespaces/default/pods", json.dumps({"metadata": {"name": "p"}, "spec": {}}))
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "spec.containers"


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_malformed_body_is_400(raw, payload):
    code, status = raw("POST", "/api/v1/namespaces/default/configmaps", payload)
    assert code == 400
    assert status["reason"] == "BadRequest"


def test_missing_namespace_is_404(core):
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("ghost", {"metadata": {"name": "a"}})
    assert caught.value.status == 404
    assert status_of(caught.value)["message"] == 'namespaces "ghost" not found'


def test_generate_name(core):
    made = core.create_namespaced_config_map("default", {"metadata": {"generateName": "cfg-"}})
    assert made.metadata.name.startswith("cfg-") and len(made.metadata.name) == 9


def test_seeded_namespaces_exist(core):
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_status_subresource_is_separate_from_the_main_resource(core, pod_body):
    core.create_namespaced_pod("default", pod_body("web"))
    pod = core.read_namespaced_pod("web", "default")
    pod.status.phase = "Running"
    pod.metadata.labels = {"touched": "yes"}
    after_main = core.replace_namespaced_pod("web", "default", pod)
    assert after_main.status.phase == "Pending" and after_main.metadata.labels == {"touched": "yes"}
    after_status = core.patch_namespaced_pod_status(
        "web", "default", {"status": {"phase": "Running"}, "metadata": {"labels": {"ignored": "yes"}}}
    )
    assert after_status.status.phase == "Running"
    assert after_status.metadata.labels == {"touched": "yes"}


def test_generation_bumps_on_spec_changes_only(custom, widget_crd, widget_body):
    created = custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    assert created["metadata"]["generation"] == 1
    labelled = custom.patch_cluster_custom_object(GROUP, "v1", "nodewidgets", "w", {"metadata": {"labels": {"a": "b"}}})
    assert labelled["metadata"]["generation"] == 1
    status = custom.patch_cluster_custom_object_status(GROUP, "v1", "nodewidgets", "w", {"status": {"phase": "Ready"}})
    assert status["metadata"]["generation"] == 1 and status["status"] == {"phase": "Ready"}
    spec = custom.patch_cluster_custom_object(GROUP, "v1", "nodewidgets", "w", {"spec": {"maxENIs": 4}})
    assert spec["metadata"]["generation"] == 2
    assert spec["status"] == {"phase": "Ready"}


def test_custom_resource_schema_validation_prunes_and_defaults(custom, widget_crd, widget_body):
    body = widget_body("w")
    body["spec"]["unknown"] = "dropped"
    created = custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", body)
    assert created["spec"] == {"nodeName": "node-1", "maxENIs": 2}
    assert "status" not in created


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({}, "spec.nodeName", "FieldValueRequired"),
        ({"nodeName": 7}, "spec.nodeName", "FieldValueTypeInvalid"),
        ({"nodeName": "n", "mode": "weird"}, "spec.mode", "FieldValueNotSupported"),
        ({"nodeName": "n", "maxENIs": 0}, "spec.maxENIs", "FieldValueInvalid"),
        ({"nodeName": "n", "subnets": [1]}, "spec.subnets[0]", "FieldValueTypeInvalid"),
    ],
)
def test_custom_resource_schema_violations_are_422(custom, widget_crd, spec, field, reason, widget_body):
    body = widget_body("w")
    body["spec"] = spec
    with pytest.raises(ApiException) as caught:
        custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", body)
    assert caught.value.status == 422
    causes = status_of(caught.value)["details"]["causes"]
    assert {"field": field, "reason": reason} in [{"field": c["field"], "reason": c["reason"]} for c in causes]


def test_binding_sets_node_name_once(core, raw, pod_body):
    core.create_namespaced_pod("default", pod_body("p"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p"},
        "target": {"kind": "Node", "name": "n1"},
    }
    code, status = raw("POST", "/api/v1/namespaces/default/pods/p/binding", json.dumps(binding))
    assert (code, status["status"]) == (201, "Success")
    assert core.read_namespaced_pod("p", "default").spec.node_name == "n1"
    binding["target"]["name"] = "n2"
    code, status = raw("POST", "/api/v1/namespaces/default/bindings", json.dumps(binding))
    assert code == 409 and status["reason"] == "Conflict"
    assert core.read_namespaced_pod("p", "default").spec.node_name == "n1"


def test_delete_preconditions(core):
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}})
    wrong = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_config_map("cm", "default", body=wrong)
    assert caught.value.status == 409
    right = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=created.metadata.uid))
    core.delete_namespaced_config_map("cm", "default", body=right)
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("cm", "default")


def test_lease_round_trip(client):
    leases = k8s.CoordinationV1Api(client)
    body = {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    created = leases.create_namespaced_lease("kube-system", body)
    created.spec.holder_identity = "b"
    updated = leases.replace_namespaced_lease("leader", "kube-system", created)
    assert updated.spec.holder_identity == "b"
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("leader", "kube-system", created)
    assert caught.value.status == 409


def test_unknown_resources_and_methods(raw):
    assert raw("GET", "/api/v1/flowers")[0] == 404
    assert raw("GET", "/apis/nothing.example.com/v1/things")[0] == 404
    assert raw("PUT", "/api/v1/namespaces/default/configmaps")[0] == 405
    assert raw("GET", "/not/an/api/path")[0] == 404


def test_custom_resource_put_requires_a_resource_version(custom, widget_crd, widget_body):
    created = custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    unconditional = widget_body("w", node="node-2")
    with pytest.raises(ApiException) as caught:
        custom.replace_cluster_custom_object(GROUP, "v1", "nodewidgets", "w", unconditional)
    assert caught.value.status == 422
    assert status_of(caught.value)["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    unconditional["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    replaced = custom.replace_cluster_custom_object(GROUP, "v1", "nodewidgets", "w", unconditional)
    assert replaced["spec"]["nodeName"] == "node-2"


def test_secret_string_data_is_folded_into_data(core):
    created = core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert created.data == {"k": "dg=="} and created.type == "Opaque" and created.string_data is None


def test_seed_creates_without_http_and_validates(apiserver, core, pod_body):
    made = apiserver.seed(pod_body("seeded"), {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    assert [o["metadata"]["name"] for o in made] == ["seeded", "n1"]
    assert core.read_namespaced_pod("seeded", "default").metadata.uid == made[0]["metadata"]["uid"]
    with pytest.raises(ValueError):
        apiserver.seed({"apiVersion": "v9", "kind": "Nothing", "metadata": {"name": "x"}})
    with pytest.raises(StatusError, match="is invalid"):
        apiserver.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "default"}})
