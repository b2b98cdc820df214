"""The extender's HTTP server: kube-scheduler's filter and prioritize calls, plus /healthz, /readyz, /metrics.

``POST <prefix>/filter`` and ``POST <prefix>/prioritize`` take an ExtenderArgs JSON body of at most
``max_body_bytes`` (Content-Length required) and answer 200 with JSON. A body that is not an ExtenderArgs
gets 400 with ``{"Error": ...}``; a body too large 413; a prioritize call before the caches synced 503 (a
filter call then answers 200 with its ``Error`` set, as the protocol expects). A failure inside the
extender is logged and answered 500: the server never dies on a request. It listens on loopback unless told
otherwise, and every connection has a socket timeout so a stalled client cannot hold a thread forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eni.scheduler.extender import Extender, NotReady
from eni.scheduler.metrics import ExtenderMetrics
from eni.scheduler.wire import ArgsError, decode_args, encode, error_result

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 << 20
"""A full NodeList of 5,000 nodes is about 20 MiB; anything far beyond that is not kube-scheduler."""
DEFAULT_CONNECTION_TIMEOUT = 30.0


class ExtenderServer:
    """Serves an Extender over HTTP on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        extender: Extender,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        metrics: ExtenderMetrics | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"prefix must be empty or start, but not end, with '/': {prefix!r}")
        self.extender = extender
        self.metrics = metrics or ExtenderMetrics()
        self.prefix = prefix
        self.max_body_bytes = max_body_bytes
        self.connection_timeout = connection_timeout
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("the extender server is not running")
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def listen(self) -> None:
        """Bind and serve on a background thread."""
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="extender-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._server = None

    def start(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (a manager Runnable)."""
        self.listen()
        log.info("Serving the scheduler extender", extra={"kv": {"url": self.url, "prefix": self.prefix or "/"}})
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.close()

    def need_leader_election(self) -> bool:
        """Every replica answers: the extender only reads."""
        return False

    # -- request handling (called by the handler threads) --------------------------------------------------
    def answer(self, verb: str, body: bytes) -> tuple[int, Any]:
        """The HTTP status and JSON answer of one extender call."""
        started = time.perf_counter()
        status, result, answer = 200, "ok", self._call(verb, body)
        if isinstance(answer, _Failure):
            status, result, answer = answer.status, answer.result, answer.body
        self.metrics.request(verb, result=result, seconds=time.perf_counter() - started)
        if status == 200 and isinstance(answer, dict):
            names = answer.get("NodeNames")
            passed = len(names) if isinstance(names, list) else len((answer.get("Nodes") or {}).get("items") or ())
            self.metrics.judged(verb, passed=passed, failed=len(answer.get("FailedNodes") or ()),
                                unresolvable=len(answer.get("FailedAndUnresolvableNodes") or ()))
        return status, answer

    def _call(self, verb: str, body: bytes) -> Any:
        try:
            args = decode_args(body)
            return self.extender.filter(args) if verb == "filter" else self.extender.prioritize(args)
        except ArgsError as e:
            return _Failure(400, "bad_request", {"Error": str(e)})
        except NotReady as e:
            if verb == "filter":
                return _Failure(200, "not_ready", error_result(str(e)))
            return _Failure(503, "not_ready", {"Error": str(e)})
        except Exception as e:
            log.exception("Extender call failed", extra={"kv": {"verb": verb}})
            return _Failure(500, "error", {"Error": f"internal error: {type(e).__name__}"})


class _Failure:
    __slots__ = ("status", "result", "body")

    def __init__(self, status: int, result: str, body: Any) -> None:
        self.status, self.result, self.body = status, result, body


def _handler_for(server: ExtenderServer) -> type[BaseHTTPRequestHandler]:
    verbs = {f"{server.prefix}/filter": "filter", f"{server.prefix}/prioritize": "prioritize"}
    gets: dict[str, Callable[[], tuple[int, bytes, str]]] = {
        "/healthz": lambda: (200, b"ok", "text/plain; charset=utf-8"),
        "/readyz": lambda: (200, b"ok", "text/plain; charset=utf-8") if server.extender.ready()
        else (503, b"caches not synced\n", "text/plain; charset=utf-8"),
        "/metrics": lambda: (200, generate_latest(server.metrics.registry), CONTENT_TYPE_LATEST),
    }

    class Handler(BaseHTTPRequestHandler):
        server_version = "tke-eni-ip-scheduler"
        protocol_version = "HTTP/1.1"
        timeout = server.connection_timeout

        def do_POST(self) -> None:
            try:
                verb = verbs.get(self.path.split("?", 1)[0])
                if verb is None:
                    self.close_connection = True  # its body is left unread
                    self._send(404 if self.path.split("?", 1)[0] not in gets else 405, {"Error": "not found"})
                    return
                body = self._body()
                if body is None:
                    return
                status, answer = server.answer(verb, body)
                self._send(status, answer)
            except OSError as e:  # the client went away or stalled past the timeout
                log.debug("Extender connection dropped", extra={"kv": {"error": str(e)}})
                self.close_connection = True
            except Exception:
                log.exception("Extender request failed")
                self.close_connection = True

        def do_GET(self) -> None:
            try:
                route = gets.get(self.path.split("?", 1)[0])
                if route is None:
                    self._send(405 if self.path.split("?", 1)[0] in verbs else 404, {"Error": "not found"})
                    return
                status, body, content_type = route()
                self._reply(status, body, content_type)
            except Exception:
                log.exception("Extender request failed")
                self.close_connection = True

        def _body(self) -> bytes | None:
            length_header = self.headers.get("Content-Length")
            if length_header is None or not length_header.strip().isdigit():
                self.close_connection = True
                self._send(411, {"Error": "a Content-Length header is required"})
                return None
            length = int(length_header)
            if length > server.max_body_bytes:
                self.close_connection = True
                self._send(413, {"Error": f"the body exceeds {server.max_body_bytes} bytes"})
                return None
            body = self.rfile.read(length)
            if len(body) != length:
                self.close_connection = True
                return None
            return body

        def _send(self, status: int, answer: Any) -> None:
            self._reply(status, encode(answer), "application/json")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("Extender request " + format, *args)

    return Handler
