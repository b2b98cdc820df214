"""KubeTransport over the standard-library connector, against a scripted HTTP/1.1 server on loopback: request
shape, keep-alive reuse, stale connections, typed errors, deadlines, watch streams, token rotation."""

import json
import os
import socket
import threading
import time

import pytest

from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import (
    ApiError,
    KubeClient,
    KubeTransport,
    NotFoundError,
    TooManyRequestsError,
    TransportError,
)
from eni.runtime.client.stdlib import Credentials, StdlibConnector
from eni.runtime.client.transport import close_stream, iter_lines
from eni.runtime.kubeconfig import ClusterConfig, KubeConfigError
from eni.runtime.meta import POD, ObjectKey


def answer(status=200, body=b"{}", *, headers=(), close=False):
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Scripted:
    """An HTTP/1.1 server; ``script(method, target)`` returns bytes to send, "drop" (close without answering),
    "silent" (never answer) or a callable taking (socket, done Event) that answers itself. Records (connection
    number, method, target, headers, body) per request."""

    def __init__(self, script):
        self.script = script
        self.requests = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def config(self, **kwargs):
        return ClusterConfig(scheme="http", host="127.0.0.1", port=self.port, **kwargs)

    def _accept(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn, number):
        conn.settimeout(5)
        reader = conn.makefile("rb")
        with conn:
            while not self.done.is_set():
                try:
                    line = reader.readline()
                except OSError:
                    return
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers = {}
                while (h := reader.readline().decode().strip()):
                    name, _, value = h.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get("content-length", 0)))
                self.requests.append((number, method, target, headers, body))
                reply = self.script(method, target)
                if reply == "drop":
                    return
                if reply == "silent":
                    self.done.wait(10)
                    return
                if callable(reply):
                    reply(conn, self.done)
                    return
                conn.sendall(reply)

    def close(self):
        self.done.set()
        self.sock.close()
        for t in self.threads:
            t.join(5)


OPEN = []


@pytest.fixture
def scripted():
    servers = []

    def make(script):
        server = Scripted(script)
        servers.append(server)
        return server

    yield make
    while OPEN:
        OPEN.pop().close()
    for server in servers:
        server.close()


def transport_for(server, timeout=5.0, **config):
    transport = KubeTransport(connector=StdlibConnector(server.config(**config)), timeout=timeout)
    OPEN.append(transport)
    return transport


def test_requests_carry_json_auth_and_query_and_reuse_one_connection(scripted):
    server = scripted(lambda method, target: answer(body=b'{"kind": "Pod", "metadata": {"name": "web"}}'))
    client = KubeClient(transport_for(server, token="t0k", base_path="/k8s"), qps=1000, burst=1000)
    assert client.get(POD, ObjectKey("default", "web"))["metadata"]["name"] == "web"
    client.patch(POD, ObjectKey("default", "web"), {"metadata": {"labels": {"a": "b"}}})
    client.transport.request("GET", "/api/v1/pods", query=[("fieldSelector", "spec.nodeName=n 1"),
                                                           ("labelSelector", "a in (x,y)")])
    (c1, m1, t1, h1, b1), (c2, m2, t2, h2, b2), (c3, _, t3, _, _) = server.requests
    assert (m1, t1, b1) == ("GET", "/k8s/api/v1/namespaces/default/pods/web", b"")
    assert h1["authorization"] == "Bearer t0k" and h1["accept"] == "application/json"
    assert (m2, h2["content-type"]) == ("PATCH", "application/merge-patch+json")
    assert json.loads(b2) == {"metadata": {"labels": {"a": "b"}}}
    assert t3 == "/k8s/api/v1/pods?fieldSelector=spec.nodeName%3Dn+1&labelSelector=a+in+%28x%2Cy%29"
    assert c1 == c2 == c3 == 1, "keep-alive: one connection serves sequential requests"


@pytest.mark.parametrize(("reply", "error", "check"), [
    (answer(404, b'{"kind": "Status", "code": 404, "reason": "NotFound", "message": "pods \\"x\\" not found"}'),
     NotFoundError, lambda e: e.message == 'pods "x" not found'),
    (answer(429, b"", headers=["Retry-After: 3"]), TooManyRequestsError, lambda e: e.retry_after == 3.0),
    (answer(500, b"<html>oops</html>"), ApiError, lambda e: e.status == 500 and "oops" in e.message),
    (answer(200, b"{not json"), ApiError, lambda e: e.reason == "BadResponse"),
    (b"HELLO\r\n\r\n", TransportError, lambda e: e.status == 0),
    ("drop", TransportError, lambda e: e.status == 0),
])
def test_answers_become_typed_errors(scripted, reply, error, check):
    server = scripted(lambda method, target: reply)
    with pytest.raises(error) as exc:
        transport_for(server).request("GET", "/api/v1/pods")
    assert check(exc.value)


def test_a_refused_connection_is_a_transport_error(scripted):
    server = scripted(lambda method, target: answer())
    port = server.port
    server.close()
    transport = KubeTransport(connector=StdlibConnector(ClusterConfig(scheme="http", host="127.0.0.1", port=port)))
    with pytest.raises(TransportError, match="ConnectionRefused"):
        transport.request("GET", "/api")


def test_a_silent_server_times_out_within_the_request_deadline(scripted):
    server = scripted(lambda method, target: "silent")
    start = time.monotonic()
    with pytest.raises(TransportError, match="timed out"):
        transport_for(server, timeout=0.3).request("GET", "/api")
    assert time.monotonic() - start < 5


def test_a_trickling_body_cannot_stretch_the_deadline(scripted):
    def trickle(conn, done):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(40):
            try:
                conn.sendall(b" ")
            except OSError:
                return
            done.wait(0.05)

    server = scripted(lambda method, target: trickle)
    start = time.monotonic()
    with pytest.raises(TransportError, match="timed out"):
        transport_for(server, timeout=0.4).request("GET", "/api")
    assert time.monotonic() - start < 1.9, "the whole request is bounded, not each read"


def test_an_idle_connection_closed_by_the_server_is_not_reused(scripted):
    server = scripted(lambda method, target: answer(close=(target == "/first")))
    transport = transport_for(server)
    transport.request("GET", "/first")
    assert transport.request("GET", "/second") == {}
    assert [r[0] for r in server.requests] == [1, 2]


def test_an_idempotent_request_is_retried_once_when_the_reused_connection_was_dropped(scripted):
    seen = []

    def script(method, target):
        seen.append(target)
        return "drop" if target == "/dropped" and seen.count("/dropped") == 1 else answer()

    server = scripted(script)
    transport = transport_for(server)
    transport.request("GET", "/warm")
    assert transport.request("GET", "/dropped") == {}
    assert [(r[0], r[2]) for r in server.requests] == [(1, "/warm"), (1, "/dropped"), (2, "/dropped")]


def test_a_create_is_not_retried_when_its_connection_drops(scripted):
    server = scripted(lambda method, target: "drop" if method == "POST" else answer())
    transport = transport_for(server)
    transport.request("GET", "/warm")
    with pytest.raises(TransportError):
        transport.request("POST", "/api/v1/namespaces/default/pods", body={"metadata": {"name": "x"}})
    assert [r[1] for r in server.requests] == ["GET", "POST"], "a POST is never sent twice"


def chunked(*lines):
    def send(conn, done):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for line in lines:
            conn.sendall(b"%x\r\n%s\r\n" % (len(line), line))
        done.wait(10)  # then silence until the test ends
    return send


def test_watch_lines_arrive_split_or_joined_and_a_silent_stream_times_out(scripted):
    first = b'{"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "3"}}}\n'
    second = b'{"type": "DELETED", "object": {"metadata": {"name": "b", "resourceVersion": "4"}}}\n'
    server = scripted(lambda method, target: chunked(first[:7], first[7:] + second[:20], second[20:]))
    watcher = KubeListerWatcher(transport_for(server), POD, read_timeout_margin=0.3)
    events = []
    with pytest.raises(TransportError):
        for event in watcher.watch(resource_version="2", timeout_seconds=0):
            events.append((event.type, event.object["metadata"]["name"]))
    assert events == [("ADDED", "a"), ("DELETED", "b")]
    assert "watch=true" in server.requests[0][2]


def test_closing_a_stream_from_another_thread_wakes_its_reader(scripted):
    server = scripted(lambda method, target: chunked(b'{"type": "BOOKMARK", "object": {}}\n'))
    resp = transport_for(server).stream("/api/v1/pods", query=[("watch", "true")], read_timeout=30)
    lines = iter_lines(resp)
    assert next(lines).startswith(b'{"type": "BOOKMARK"')
    threading.Timer(0.2, close_stream, args=(resp,)).start()
    start = time.monotonic()
    with pytest.raises((TransportError, StopIteration)):
        next(lines)
    assert time.monotonic() - start < 5


def test_a_failed_watch_request_is_a_typed_error(scripted):
    server = scripted(lambda method, target: answer(410, b'{"kind": "Status", "code": 410, "reason": "Expired"}'))
    with pytest.raises(ApiError) as exc:
        transport_for(server).stream("/api/v1/pods", read_timeout=5)
    assert exc.value.status == 410


def test_a_rotated_token_file_is_used_from_the_next_request(scripted, tmp_path):
    token = tmp_path / "token"
    token.write_text("first\n")
    server = scripted(lambda method, target: answer())
    transport = transport_for(server, token_file=str(token))
    transport.request("GET", "/a")
    staged = tmp_path / "token.new"
    staged.write_text("second")
    os.replace(staged, token)  # as the kubelet swaps projected tokens: a new file, atomically
    transport.request("GET", "/b")
    token.unlink()  # mid-rotation: the last token is kept
    transport.request("GET", "/c")
    assert [r[3]["authorization"] for r in server.requests] == ["Bearer first", "Bearer second", "Bearer second"]


def test_token_files_must_be_readable_and_not_empty_at_start(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(KubeConfigError, match="empty"):
        Credentials(ClusterConfig(scheme="http", host="h", port=1, token_file=str(tmp_path / "empty")))
    with pytest.raises(KubeConfigError, match="cannot read"):
        Credentials(ClusterConfig(scheme="http", host="h", port=1, token_file=str(tmp_path / "missing")))


def test_basic_auth_and_no_auth(scripted):
    server = scripted(lambda method, target: answer())
    transport_for(server, username="admin", password="pw").request("GET", "/a")
    transport_for(server).request("GET", "/b")
    assert server.requests[0][3]["authorization"] == "Basic YWRtaW46cHc="
    assert "authorization" not in server.requests[1][3]


def test_close_drops_idle_connections_and_keeps_none_afterwards(scripted):
    server = scripted(lambda method, target: answer())
    transport = transport_for(server)
    transport.request("GET", "/a")
    transport.close()
    transport.request("GET", "/b")
    transport.request("GET", "/c")
    assert [r[0] for r in server.requests] == [1, 2, 3]


def test_concurrent_requests_each_get_a_whole_answer(scripted):
    server = scripted(lambda method, target: answer(body=json.dumps({"path": target}).encode()))
    transport = transport_for(server)
    results = {}

    def fetch(i):
        results[i] = transport.request("GET", f"/n/{i}")

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: {"path": f"/n/{i}"} for i in range(12)}


def test_a_transport_has_exactly_one_way_to_send(scripted):
    with pytest.raises(ValueError, match="either"):
        KubeTransport()
    server = scripted(lambda method, target: answer())
    with pytest.raises(ValueError, match="either"):
        KubeTransport(object(), connector=StdlibConnector(server.config()))
