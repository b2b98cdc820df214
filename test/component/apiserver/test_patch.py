"""Merge patch, JSON patch and strategic merge patch, over HTTP and as pure functions."""

from __future__ import annotations

import json

import pytest

from eni.runtime.testing.apiserver.patch import (
    MalformedPatch,
    PatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

GROUP = "test.tke.cloud.tencent.com"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def test_merge_patch_rfc7386_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    original = {"a": {"b": 1}}
    merge_patch(original, {"a": {"b": 2}})
    assert original == {"a": {"b": 1}}


def test_json_patch_operations():
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/1", "value": 9},
            {"op": "remove", "path": "/c"},
            {"op": "replace", "path": "/a/b/0", "value": 0},
            {"op": "copy", "from": "/a/b", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "test", "path": "/e/1", "value": 9},
            {"op": "add", "path": "/a/k~1x", "value": True},
        ],
    )
    assert out == {"a": {"b": [0, 9, 2], "k/x": True}, "e": [0, 9, 2]}
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/c", "value": "y"}])
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "remove", "path": "/missing"}])
    with pytest.raises(MalformedPatch):
        json_patch(doc, {"op": "add"})
    with pytest.raises(MalformedPatch):
        json_patch(doc, [{"op": "explode", "path": "/a"}])


def test_strategic_merge_patch_list_semantics():
    pod = {
        "metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
        "spec": {
            "containers": [
                {"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "s"},
            ],
            "tolerations": [{"key": "t1"}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Init", "status": "True"}]},
    }
    patch = {
        "metadata": {"finalizers": ["b", "a"], "ownerReferences": [{"uid": "2", "name": "y"}]},
        "spec": {
            "containers": [
                {"name": "app", "image": "v2", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 81}]},
                {"name": "side", "$patch": "delete"},
            ],
            "tolerations": [{"key": "t2"}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    out = strategic_merge_patch(pod, patch)
    assert out["metadata"]["finalizers"] == ["a", "b"]
    assert [r["uid"] for r in out["metadata"]["ownerReferences"]] == ["1", "2"]
    assert len(out["spec"]["containers"]) == 1
    app = out["spec"]["containers"][0]
    assert app["image"] == "v2"
    assert [e["name"] for e in app["env"]] == ["A", "B"]
    assert [p["containerPort"] for p in app["ports"]] == [80, 81]
    assert out["spec"]["tolerations"] == [{"key": "t2"}]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"}, {"type": "Init", "status": "True"}]


def test_strategic_merge_patch_directives():
    doc = {
        "spec": {"selector": {"a": "1", "b": "2"}, "containers": [{"name": "x", "image": "i"}]},
        "metadata": {"finalizers": ["f1", "f2"]},
    }
    replaced = strategic_merge_patch(doc, {"spec": {"selector": {"$patch": "replace", "c": "3"}}})
    assert replaced["spec"]["selector"] == {"c": "3"}
    deleted = strategic_merge_patch(doc, {"spec": {"selector": {"$patch": "delete"}}})
    assert "selector" not in deleted["spec"]
    whole_list = strategic_merge_patch(
        doc, {"spec": {"containers": [{"$patch": "replace"}, {"name": "y", "image": "j"}]}}
    )
    assert whole_list["spec"]["containers"] == [{"name": "y", "image": "j"}]
    removed = strategic_merge_patch(doc, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}})
    assert removed["metadata"]["finalizers"] == ["f2"]
    retained = strategic_merge_patch(doc, {"spec": {"$retainKeys": ["containers"], "containers": []}})
    assert set(retained["spec"]) == {"containers"}
    with pytest.raises(MalformedPatch):
        strategic_merge_patch(doc, {"spec": {"$patch": "explode"}})


def test_patches_over_http(raw, core, pod_body):
    core.create_namespaced_pod("default", pod_body("p", labels={"a": "1"}))
    path = "/api/v1/namespaces/default/pods/p"
    code, pod = raw("PATCH", path, json.dumps({"metadata": {"labels": {"a": None, "b": "2"}}}), MERGE)
    assert code == 200 and pod["metadata"]["labels"] == {"b": "2"}
    code, pod = raw(
        "PATCH", path, json.dumps([{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]), JSON_PATCH
    )
    assert code == 200 and pod["metadata"]["annotations"] == {"x": "y"}
    sidecar = {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}
    code, pod = raw("PATCH", path, json.dumps(sidecar), STRATEGIC)
    assert code == 200 and [c["name"] for c in pod["spec"]["containers"]] == ["app", "side"]
    code, status = raw("PATCH", path, json.dumps([{"op": "test", "path": "/metadata/name", "value": "q"}]), JSON_PATCH)
    assert code == 422 and status["kind"] == "Status"
    code, status = raw("PATCH", path, "{broken", MERGE)
    assert code == 400
    code, status = raw("PATCH", path, "{}", {"Content-Type": "application/apply-patch+yaml"})
    assert code == 415
    stale = json.dumps({"metadata": {"resourceVersion": "1", "labels": {"c": "3"}}})
    assert raw("PATCH", path, stale, MERGE)[0] == 409
    assert raw("PATCH", "/api/v1/namespaces/default/pods/missing", "{}", MERGE)[0] == 404


def test_strategic_merge_patch_on_custom_resources_is_415(raw, widget_crd, widget_body, custom):
    custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    path = f"/apis/{GROUP}/v1/nodewidgets/w"
    code, status = raw("PATCH", path, json.dumps({"spec": {"maxENIs": 3}}), STRATEGIC)
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
    code, widget = raw("PATCH", path, json.dumps({"spec": {"maxENIs": 3}}), MERGE)
    assert code == 200 and widget["spec"]["maxENIs"] == 3
    code, status = raw("PATCH", path, json.dumps({"spec": {"maxENIs": "many"}}), MERGE)
    assert code == 422


def test_status_patch_ignores_everything_but_status(raw, widget_crd, widget_body, custom):
    custom.create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    body = {"spec": {"nodeName": "elsewhere"}, "status": {"phase": "Ready"}, "metadata": {"labels": {"x": "y"}}}
    code, widget = raw("PATCH", f"/apis/{GROUP}/v1/nodewidgets/w/status", json.dumps(body), MERGE)
    assert code == 200
    assert widget["status"] == {"phase": "Ready"} and widget["spec"]["nodeName"] == "node-1"
    assert widget["metadata"]["labels"] == {}
    code, widget = raw("PATCH", f"/apis/{GROUP}/v1/nodewidgets/w", json.dumps({"status": {"phase": "Failed"}}), MERGE)
    assert widget["status"] == {"phase": "Ready"}
