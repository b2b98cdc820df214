"""Lists: label and field selectors, pagination, discovery of what can be listed."""

from __future__ import annotations

import pytest
from kubernetes.client.rest import ApiException

GROUP = "test.tke.cloud.tencent.com"


@pytest.fixture
def labelled_pods(core, pod_body):
    specs = {
        "a": ({"app": "web", "tier": "front"}, "n1"),
        "b": ({"app": "web", "tier": "back"}, "n2"),
        "c": ({"app": "db"}, "n1"),
        "d": ({}, ""),
    }
    for name, (labels, node) in specs.items():
        core.create_namespaced_pod("default", pod_body(name, labels=labels, node=node))
    core.patch_namespaced_pod_status("c", "default", {"status": {"phase": "Running"}})


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),
        ("tier in (front, back)", ["a", "b"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier=back", ["b"]),
        ("", ["a", "b", "c", "d"]),
    ],
)
def test_label_selectors(core, labelled_pods, selector, expected):
    pods = core.list_namespaced_pod("default", label_selector=selector)
    assert [p.metadata.name for p in pods.items] == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.nodeName=n1", ["a", "c"]),
        ("spec.nodeName==n2", ["b"]),
        ("spec.nodeName!=n1", ["b", "d"]),
        ("spec.nodeName=", ["d"]),
        ("status.phase=Running", ["c"]),
        ("metadata.name=b", ["b"]),
        ("metadata.namespace=default,spec.nodeName=n1", ["a", "c"]),
    ],
)
def test_field_selectors(core, labelled_pods, selector, expected):
    pods = core.list_pod_for_all_namespaces(field_selector=selector)
    assert [p.metadata.name for p in pods.items] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"field_selector": "spec.whatever=x"}, "field label not supported"),
        ({"label_selector": "a in (b"}, "unable to parse"),
        ({"label_selector": "bad key=1"}, "unable to parse"),
    ],
)
def test_bad_selectors_are_400(core, kwargs, message):
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod("default", **kwargs)
    assert caught.value.status == 400
    assert message in caught.value.body


def test_pagination_with_limit_and_continue(core):
    for i in range(25):
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": f"cm-{i:02d}", "labels": {"even": str(i % 2 == 0).lower()}}}
        )
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("default", limit=10, _continue=token)
        pages += 1
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 25 - len(seen)
    assert pages == 3 and seen == [f"cm-{i:02d}" for i in range(25)]
    even, token = [], None
    while True:
        page = core.list_namespaced_config_map("default", limit=4, _continue=token, label_selector="even=true")
        even += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert even == [f"cm-{i:02d}" for i in range(0, 25, 2)]


def test_pagination_rejects_garbage_continue_token(core):
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map("default", limit=1, _continue="%%%not-a-token")
    assert caught.value.status == 400


def test_custom_objects_list_with_selectors(custom, widget_crd, widget_body):
    for name, node in (("a", "n1"), ("b", "n2")):
        custom.create_cluster_custom_object(
            GROUP, "v1", "nodewidgets", widget_body(name, node=node, labels={"node": node})
        )
    listed = custom.list_cluster_custom_object(GROUP, "v1", "nodewidgets", label_selector="node=n2")
    assert [w["metadata"]["name"] for w in listed["items"]] == ["b"]
    assert listed["kind"] == "NodeWidgetList"
    by_name = custom.list_cluster_custom_object(GROUP, "v1", "nodewidgets", field_selector="metadata.name=a")
    assert [w["metadata"]["name"] for w in by_name["items"]] == ["a"]


def test_discovery_documents(raw, widget_crd):
    code, versions = raw("GET", "/api")
    assert code == 200 and versions["versions"] == ["v1"]
    core_list = raw("GET", "/api/v1")[1]
    pods = next(r for r in core_list["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and pods["kind"] == "Pod" and "po" in pods["shortNames"] and "watch" in pods["verbs"]
    assert {"pods/status", "pods/binding"} <= {r["name"] for r in core_list["resources"]}
    groups = {g["name"] for g in raw("GET", "/apis")[1]["groups"]}
    assert {"apps", "coordination.k8s.io", "apiextensions.k8s.io", GROUP} <= groups
    widgets = raw("GET", f"/apis/{GROUP}/v1")[1]["resources"]
    main = next(r for r in widgets if r["name"] == "nodewidgets")
    assert main["shortNames"] == ["nw"] and main["namespaced"] is False and main["singularName"] == "nodewidget"
    assert main["categories"] == ["tke"]
    assert "nodewidgets/status" in {r["name"] for r in widgets}
    assert raw("GET", "/version")[1]["minor"] == "32"
    assert f"apis/{GROUP}/v1" in raw("GET", "/openapi/v3")[1]["paths"]
