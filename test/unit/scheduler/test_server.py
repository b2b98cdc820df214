"""The HTTP server: status codes for bad input, size limits, health and metrics, and that it never dies."""

import http.client
import json
import socket
import threading

import pytest

from eni.api.v1 import VPC_IP_CLAIM
from eni.scheduler import ClusterIndex, ClusterSubnets, Extender, ExtenderServer
from eni.scheduler.testing import claim, pod

NAMES = ["node-a1", "node-a2", "node-a3", "node-a4", "node-b1", "node-x"]


@pytest.fixture
def start_server():
    started = []

    def start(extender, **kwargs):
        server = ExtenderServer(extender, **kwargs)
        server.listen()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def request(server, method, path, body=None, headers=None):
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def filter_body(p=None, names=NAMES):
    return json.dumps({"Pod": p or pod("app-1"), "NodeNames": names}).encode()


def test_malformed_json_is_a_400_with_an_error_and_the_server_keeps_serving(extender, start_server):
    server = start_server(extender)
    status, body = request(server, "POST", "/filter", b'{"Pod": ')
    assert status == 400 and json.loads(body)["Error"].startswith("the body is not JSON")
    status, body = request(server, "POST", "/prioritize", b'{"Pod": {"metadata": {}}}')
    assert status == 400 and "either Nodes or NodeNames" in json.loads(body)["Error"]
    status, body = request(server, "POST", "/filter", filter_body())
    assert status == 200 and json.loads(body)["NodeNames"] == ["node-a1", "node-b1"]


def test_too_large_bodies_and_missing_lengths_are_refused(extender, start_server):
    server = start_server(extender, max_body_bytes=1024)
    status, body = request(server, "POST", "/filter", b"x" * 2048)
    assert status == 413 and "exceeds 1024 bytes" in json.loads(body)["Error"]
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"POST /filter HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 411")


def test_unknown_paths_and_methods(extender, start_server):
    server = start_server(extender, prefix="/ip-scheduler")
    assert request(server, "POST", "/filter", filter_body())[0] == 404
    assert request(server, "POST", "/ip-scheduler/filter", filter_body())[0] == 200
    assert request(server, "GET", "/ip-scheduler/filter")[0] == 405
    assert request(server, "POST", "/healthz", b"{}")[0] == 405
    assert request(server, "GET", "/nope")[0] == 404
    with pytest.raises(ValueError):
        ExtenderServer(extender, prefix="ip-scheduler/")


def test_health_readiness_and_metrics(extender, start_server):
    server = start_server(extender)
    assert request(server, "GET", "/healthz") == (200, b"ok")
    assert request(server, "GET", "/readyz") == (200, b"ok")
    request(server, "POST", "/filter", filter_body())
    request(server, "POST", "/filter", b"garbage")
    status, text = request(server, "GET", "/metrics")
    metrics = text.decode()
    assert status == 200
    assert 'eni_scheduler_extender_requests_total{result="ok",verb="filter"} 1.0' in metrics
    assert 'eni_scheduler_extender_requests_total{result="bad_request",verb="filter"} 1.0' in metrics
    assert 'eni_scheduler_extender_nodes_total{outcome="passed",verb="filter"} 2.0' in metrics
    assert 'eni_scheduler_extender_nodes_total{outcome="failed",verb="filter"} 3.0' in metrics
    assert 'eni_scheduler_extender_nodes_total{outcome="unresolvable",verb="filter"} 1.0' in metrics


def test_before_the_caches_sync_filter_answers_an_error_and_prioritize_503(start_server):
    index = ClusterIndex()  # never watched: never synced
    server = start_server(Extender(index, ClusterSubnets(index)))
    assert request(server, "GET", "/readyz")[0] == 503
    status, body = request(server, "POST", "/filter", filter_body())
    assert status == 200 and json.loads(body)["Error"] == "the extender's caches have not synced yet"
    assert request(server, "POST", "/prioritize", filter_body())[0] == 503
    # a pod without ENI IPs passes through even then: the extender has nothing to say about it
    status, body = request(server, "POST", "/filter", filter_body(pod("plain", eni_ip=False), ["n1"]))
    assert status == 200 and json.loads(body)["NodeNames"] == ["n1"]


def test_an_internal_failure_is_a_500_not_a_dead_server(extender, start_server, monkeypatch):
    server = start_server(extender)
    monkeypatch.setattr(extender, "filter", lambda args: 1 / 0)
    status, body = request(server, "POST", "/filter", filter_body())
    assert status == 500 and json.loads(body)["Error"] == "internal error: ZeroDivisionError"
    assert request(server, "POST", "/prioritize", filter_body())[0] == 200


def test_garbage_bytes_and_abandoned_connections_do_not_stop_the_server(extender, start_server):
    server = start_server(extender, connection_timeout=0.5)
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    stalled = b"POST /filter HTTP/1.1\r\nContent-Length: 99\r\n\r\n{"
    for junk in (b"\x00\xff" * 50 + b"\r\n\r\n", b"GET\r\n\r\n", stalled):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(junk)
            raw.settimeout(5)
            try:
                raw.recv(4096)
            except OSError:
                pass
    assert request(server, "POST", "/filter", filter_body())[0] == 200


def test_concurrent_requests_get_consistent_answers(extender, start_server):
    server = start_server(extender)
    answers, errors = [], []

    def call():
        try:
            status, body = request(server, "POST", "/filter", filter_body())
            answers.append((status, json.loads(body)["NodeNames"]))
        except Exception as e:  # collected: assertion below shows it
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and answers == [(200, ["node-a1", "node-b1"])] * 16


def test_only_nominated_subnets_keeps_ordinary_pods_off_nominated_subnets(cluster, extender):
    strict = Extender(cluster.index, ClusterSubnets(cluster.index), only_nominated_subnets=True)
    cluster.change(VPC_IP_CLAIM, claim("default", "db-0", nominated_subnets=["subnet-b1"]), action="create",
                   until=lambda: cluster.index.reserved_subnets == {"subnet-b1"})
    from eni.scheduler import decode_args

    ordinary = decode_args(filter_body())
    assert strict.filter(ordinary)["NodeNames"] == ["node-a1"]
    assert "reserved for pods that nominate them" in strict.filter(ordinary)["FailedAndUnresolvableNodes"]["node-b1"]
    assert extender.filter(ordinary)["NodeNames"] == ["node-a1", "node-b1"]  # without the flag
    nominating = decode_args(filter_body(pod("db-1", nominated_subnets=["subnet-b1"])))
    assert strict.filter(nominating)["NodeNames"] == ["node-b1"]
