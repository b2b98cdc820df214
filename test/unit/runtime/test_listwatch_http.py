"""KubeListerWatcher over real HTTP on loopback: a silent watch is noticed, garbage lines are errors."""

import socket
import threading

import pytest
from kubernetes.client import ApiClient, Configuration

from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import ApiError, GoneError, KubeTransport, TransportError
from eni.runtime.meta import POD

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class ScriptedServer:
    """Answers each connection with HEADERS + the given chunks, then stays silent until closed."""

    def __init__(self, body_chunks):
        self.body = b"".join(chunk(c) for c in body_chunks)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(5)
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(HEADERS + self.body)
            self.release.wait(10)

    def close(self):
        self.release.set()
        self.sock.close()
        self.thread.join(5)


def lister_watcher(url):
    configuration = Configuration()
    configuration.host = url
    return KubeListerWatcher(KubeTransport(ApiClient(configuration), timeout=5), POD, read_timeout_margin=0.3)


def test_a_silent_watch_is_noticed_by_the_read_timeout():
    server = ScriptedServer([b'{"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "3"}}}\n'])
    try:
        stream = lister_watcher(server.url).watch(resource_version="2", timeout_seconds=0)
        events = []
        with pytest.raises(TransportError):
            for event in stream:
                events.append(event.object["metadata"]["name"])
        assert events == ["a"], "events before the silence are delivered"
    finally:
        server.close()


def test_an_event_split_across_chunks_is_reassembled():
    line = b'{"type": "MODIFIED", "object": {"metadata": {"name": "split", "resourceVersion": "9"}}}\n'
    server = ScriptedServer([line[:10], line[10:40], line[40:]])
    try:
        stream = lister_watcher(server.url).watch(resource_version="1", timeout_seconds=0)
        iterator = iter(stream)
        event = next(iterator)
        assert (event.type, event.object["metadata"]["name"]) == ("MODIFIED", "split")
        stream.close()
    finally:
        server.close()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"not json\n", ApiError),
        (b'{"type": "WHATEVER", "object": {}}\n', ApiError),
        (b'{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}\n', GoneError),
    ],
)
def test_bad_or_error_lines_raise_typed_errors(line, error):
    server = ScriptedServer([line])
    try:
        with pytest.raises(error):
            for _ in lister_watcher(server.url).watch(resource_version="1", timeout_seconds=0):
                pass
    finally:
        server.close()
