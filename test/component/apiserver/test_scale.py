"""Ten thousand pods: listing (whole and paged) and watching them stays quick and complete.

Run with ``-s`` to see the timings (they are printed, not asserted tightly, because the machine is shared).
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import kubernetes.client as k8s
import pytest

PODS = 10_000


@pytest.fixture
def many_pods(apiserver):
    started = time.perf_counter()
    apiserver.seed(
        *(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"pod-{i:05d}", "namespace": "default", "labels": {"shard": str(i % 10)}},
                "spec": {"nodeName": f"node-{i % 100}", "containers": [{"name": "app", "image": "nginx"}]},
            }
            for i in range(PODS)
        )
    )
    print(f"\ncreated {PODS} pods in the store in {time.perf_counter() - started:.2f}s")
    return PODS


def test_list_ten_thousand_pods(apiserver, many_pods):
    location = urlsplit(apiserver.url)
    conn = http.client.HTTPConnection(location.hostname, location.port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", "/api/v1/pods")
    payload = conn.getresponse().read()
    whole = time.perf_counter() - started
    conn.close()
    assert len(json.loads(payload)["items"]) == PODS

    client = apiserver.api_client()
    try:
        core = k8s.CoreV1Api(client)
        started = time.perf_counter()
        names, token = [], None
        while True:
            page = core.list_pod_for_all_namespaces(limit=500, _continue=token, _preload_content=False)
            doc = json.loads(page.data)
            names += [p["metadata"]["name"] for p in doc["items"]]
            token = doc["metadata"].get("continue")
            if not token:
                break
        paged = time.perf_counter() - started
        node_pods = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-7", _preload_content=False)
        assert len(json.loads(node_pods.data)["items"]) == PODS // 100
    finally:
        client.close()
    assert names == sorted(names) and len(set(names)) == PODS
    size = len(payload) / 1e6
    print(f"list {PODS} pods: whole {whole * 1000:.0f} ms ({size:.1f} MB), paged by 500 {paged * 1000:.0f} ms")
    assert whole < 30 and paged < 60


def test_watch_ten_thousand_pods(apiserver, many_pods):
    location = urlsplit(apiserver.url)
    conn = http.client.HTTPConnection(location.hostname, location.port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", "/api/v1/pods?watch=1&timeoutSeconds=2")
    response = conn.getresponse()
    added = 0
    while added < PODS:
        line = response.fp.readline()
        if not line:
            break
        if b'"ADDED"' in line[:20]:
            added += 1
    elapsed = time.perf_counter() - started
    conn.close()
    assert added == PODS
    print(f"watch initial ADDED for {PODS} pods: {elapsed * 1000:.0f} ms")
    assert elapsed < 30
