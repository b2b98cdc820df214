"""The HTTP layer: reads a request, routes it, writes the reply or the watch stream.

Built on ``http.server`` with HTTP/1.1 keep-alive (every reply has a Content-Length, watches are
chunked and close the connection). Any exception becomes a Status reply: a malformed request gets
400, an unexpected bug 500, and the serving thread carries on; the server never dies on input.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import discovery, errors, openapi
from .endpoints import Endpoints, Reply, Request, flag
from .kinds import Registry
from .routing import parse_resource_path
from .store import Store
from .streaming import WatchSettings, WatchStream

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


@dataclass
class ServerContext:
    """What every request handler shares."""

    store: Store
    registry: Registry
    endpoints: Endpoints
    watch: WatchSettings
    address: str = ""


class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ServerContext) -> None:
        super().__init__(address, ApiRequestHandler)
        self.context = context
        self.open_connections: set[Any] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up on idle keep-alive connections are routine, not errors."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("Client went away", extra={"client": client_address})
        else:
            log.exception("Connection failed", extra={"client": client_address})


class ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes; Nagle would add 40 ms per reply
    server: ApiHTTPServer
    timeout = 300  # idle keep-alive connections are closed after this

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("Request " + format, *args)

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise errors.StatusError(413, "RequestEntityTooLarge", "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise errors.StatusError(413, "RequestEntityTooLarge", "request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.code)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _dispatch(self, method: str) -> None:
        context = self.server.context
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            reply = self._non_resource(method, url.path, query)
            if reply is None:
                route = parse_resource_path(url.path)
                if route is None:
                    raise errors.resource_not_served(url.path)
                request = Request(
                    method=method,
                    path=route,
                    query=query,
                    body=body,
                    content_type=self.headers.get("Content-Type", "application/json"),
                    accept=self.headers.get("Accept", ""),
                )
                if method == "GET" and (route.watch_prefix or flag(query, "watch")):
                    self._stream(WatchStream(context.store, context.endpoints.resolve(route), request, context.watch))
                    return
                reply = context.endpoints.handle(request)
        except errors.StatusError as e:
            reply = Reply(e.code, e.body())
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception as e:  # the server must answer, never die, whatever the input
            log.exception("Request failed", extra={"path": self.path})
            reply = Reply(500, errors.StatusError(500, "InternalError", f"Internal error occurred: {e}").body())
        try:
            self._send(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _non_resource(self, method: str, path: str, query: dict[str, str]) -> Reply | None:
        context = self.server.context
        registry = context.registry
        path = path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez"):
            return Reply(200, b"ok", "text/plain; charset=utf-8")
        doc: Any = None
        if path == "/version":
            doc = discovery.KUBERNETES_VERSION
        elif path == "/api":
            doc = discovery.api_versions(context.address)
        elif path == "/apis":
            doc = discovery.api_group_list(registry)
        elif path.startswith("/openapi/"):
            found = openapi.document(registry, path, query)
            if found is None:
                raise errors.resource_not_served(path)
            return Reply(200, found)
        else:
            parts = [p for p in path.split("/") if p]
            if len(parts) == 2 and parts[0] == "api":
                doc = discovery.api_resource_list(registry, "", parts[1])
            elif len(parts) == 2 and parts[0] == "apis":
                doc = discovery.api_group(registry, parts[1])
            elif len(parts) == 3 and parts[0] == "apis":
                doc = discovery.api_resource_list(registry, parts[1], parts[2])
            else:
                return None
            if doc is None:
                raise errors.resource_not_served(path)
        if method != "GET":
            raise errors.method_not_allowed(f"{method} {path}")
        return Reply(200, json.dumps(doc).encode())

    def _stream(self, stream: WatchStream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

        def write(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            stream.serve(write)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (ConnectionError, TimeoutError, ValueError):
            pass
