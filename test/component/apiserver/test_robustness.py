"""Bad input never crashes the server, never changes state, and concurrent writers are serialized."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import kubernetes.client as k8s
import pytest
from kubernetes.client.rest import ApiException

GROUP = "test.tke.cloud.tencent.com"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}

WEIRD_BODIES = [
    {"metadata": []},
    {"metadata": {"name": 7}},
    {"metadata": {"name": "x", "labels": ["a"]}},
    {"metadata": {"name": "x", "labels": {"a": 1}}},
    {"metadata": {"name": "x", "annotations": "nope"}},
    {"metadata": {"name": "x", "finalizers": "nope"}},
    {"metadata": {"name": "x", "finalizers": [1]}},
    {"metadata": {"name": "x", "ownerReferences": "nope"}},
    {"metadata": {"name": "x", "ownerReferences": [{"uid": 5}]}},
    {"metadata": {"name": "x", "generateName": 3}},
    {"metadata": {"generateName": ["x"]}},
    {"metadata": {"name": "x"}, "spec": []},
    {"metadata": {"name": "x"}, "status": "done"},
    {"metadata": {"name": "x" * 300}},
    {"kind": 5, "apiVersion": [], "metadata": {"name": "x"}},
]
WEIRD_PODS = [
    {"metadata": {"name": "x", "namespace": 5}},
    {"metadata": {"name": "x"}, "spec": {"containers": "many"}},
    {"metadata": {"name": "x"}, "spec": {"containers": [None]}},
    {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c"}]}},
]
COLLECTIONS = [
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/services",
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/nodes",
    "/api/v1/namespaces",
    "/apis/apps/v1/namespaces/default/deployments",
    "/apis/coordination.k8s.io/v1/namespaces/default/leases",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    f"/apis/{GROUP}/v1/nodewidgets",
]


def test_weird_bodies_get_4xx_and_change_nothing(raw, widget_crd):
    before = raw("GET", "/api/v1/namespaces")[1]["metadata"]["resourceVersion"]
    for path in COLLECTIONS:
        for body in WEIRD_BODIES + (WEIRD_PODS if path.endswith("/pods") else []):
            code, status = raw("POST", path, json.dumps(body))
            assert 400 <= code < 500, (path, body, status)
            assert status["kind"] == "Status", (path, body)
    assert raw("GET", "/api/v1/namespaces")[1]["metadata"]["resourceVersion"] == before


def test_weird_patches_and_queries_get_4xx(raw, core, pod_body):
    core.create_namespaced_pod("default", pod_body("p"))
    path = "/api/v1/namespaces/default/pods/p"
    patches = [
        ("[]", MERGE),
        ('"text"', MERGE),
        ('{"metadata": "x"}', MERGE),
        ('{"metadata": {"name": "other"}}', MERGE),
        ('{"spec": []}', MERGE),
        ('{"op": "add"}', JSON_PATCH),
        ('[{"op": "replace", "path": "/metadata", "value": []}]', JSON_PATCH),
        ('[{"op": "remove", "path": ""}]', JSON_PATCH),
        ('[{"op": "add", "path": "no-slash", "value": 1}]', JSON_PATCH),
        ('[{"op": "add", "path": "/spec/containers/99", "value": {}}]', JSON_PATCH),
        ("[1]", STRATEGIC),
        ('{"spec": {"containers": [{"image": "no-name"}]}}', STRATEGIC),
        ('{"$patch": "bogus"}', STRATEGIC),
        ("[" * 100000, MERGE),
    ]
    for body, headers in patches:
        code, status = raw("PATCH", path, body, headers)
        assert 400 <= code < 500, (body[:60], status)
    for query in ("watch=1&resourceVersion=abc", "limit=abc", "labelSelector=(((", "fieldSelector=nonsense"):
        assert 400 <= raw("GET", f"/api/v1/namespaces/default/pods?{query}")[0] < 500, query
    code, pod = raw("GET", path)
    assert code == 200 and pod["metadata"]["name"] == "p"


def test_garbage_on_the_socket_does_not_take_the_server_down(apiserver, core):
    location = urlsplit(apiserver.url)
    for garbage in (
        b"GARBAGE\r\n\r\n",
        b"\x00\xff" * 100,
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /api/v1/namespaces HTTP/1.1\r\nContent-Length: 99\r\n\r\n{",
    ):
        with socket.create_connection((location.hostname, location.port), timeout=5) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            try:
                sock.recv(4096)
            except OSError:
                pass
    assert core.read_namespace("default").metadata.name == "default"


def test_concurrent_writers_one_winner_per_version(apiserver):
    clients = [apiserver.api_client() for _ in range(6)]
    apis = [k8s.CoreV1Api(c) for c in clients]
    apis[0].create_namespaced_config_map("default", {"metadata": {"name": "counter"}, "data": {"n": "0"}})
    try:
        for round_ in range(5):
            snapshot = apis[0].read_namespaced_config_map("counter", "default")
            barrier = threading.Barrier(len(apis))
            outcomes: list[str] = []

            def race(
                api: k8s.CoreV1Api,
                index: int,
                round_: int = round_,
                snapshot=snapshot,
                barrier=barrier,
                outcomes=outcomes,
            ) -> None:
                body = k8s.V1ConfigMap(metadata=snapshot.metadata, data={"n": f"{round_}-{index}"})
                barrier.wait(timeout=10)
                try:
                    api.replace_namespaced_config_map("counter", "default", body)
                    outcomes.append("won")
                except ApiException as e:
                    outcomes.append(str(e.status))

            threads = [threading.Thread(target=race, args=(api, i)) for i, api in enumerate(apis)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert sorted(outcomes) == ["409"] * (len(apis) - 1) + ["won"]
    finally:
        for c in clients:
            c.close()


def test_concurrent_increments_lose_no_update(apiserver):
    clients = [apiserver.api_client() for _ in range(4)]
    k8s.CoreV1Api(clients[0]).create_namespaced_config_map("default", {"metadata": {"name": "n"}, "data": {"n": "0"}})
    per_thread = 15

    def increment(api: k8s.CoreV1Api) -> None:
        done = 0
        for _ in range(per_thread * 50):
            if done == per_thread:
                return
            current = api.read_namespaced_config_map("n", "default")
            current.data["n"] = str(int(current.data["n"]) + 1)
            try:
                api.replace_namespaced_config_map("n", "default", current)
                done += 1
            except ApiException as e:
                assert e.status == 409

    try:
        threads = [threading.Thread(target=increment, args=(k8s.CoreV1Api(c),)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        final = k8s.CoreV1Api(clients[0]).read_namespaced_config_map("n", "default")
        assert final.data["n"] == str(per_thread * len(clients))
    finally:
        for c in clients:
            c.close()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_method_on_odd_paths_answers(raw, method):
    for path in (
        "/",
        "/api/v1/namespaces/default/pods/x/y/z",
        "/apis/apps",
        "/apis//v1",
        "/api/v1/namespaces//pods",
        "/openapi/v3/nothing",
    ):
        code, _ = raw(method, path, "{}")
        assert 200 <= code < 500, (method, path)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not protobuf", 400),
        (b"k8s\x00\x0a\xff", 400),
        (b"k8s\x00\x0a\x0a\x0a\x02v1\x12\x04Pods", 415),
        (b"k8s\x00" + bytes(range(256)), 400),
    ],
)
def test_garbage_protobuf_bodies(raw, body, code):
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    assert raw("POST", "/api/v1/namespaces/default/configmaps", body, headers)[0] == code
