"""The HTTP layer: a threaded loopback server that feeds the gateway and serves ``/_admin/``.

Replies are HTTP 200 with ``Content-Type: application/json`` exactly (the SDK only parses the error
envelope with that exact value). Bodies over ``MAX_BODY`` bytes are refused without being read, and
the connection is closed. Admin endpoints (no signature; loopback only)::

    GET    /_admin/faults      the fault plan            PUT|POST /_admin/faults  merge a fault plan
    DELETE /_admin/faults      clear every fault         GET  /_admin/state       the state as JSON
    POST   /_admin/reset       back to the world, faults and calls cleared
    POST   /_admin/instances   {zone, instanceType, instanceId?, subnetId?, securityGroupIds?, name?}
    GET    /_admin/calls       the call log

The server must never die of a request: every handler path ends in a reply or a closed socket.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .errors import ApiError
from .gateway import Gateway, error_body
from .signing import SignedRequest

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # the real gateway's limit for POST JSON is 1 MB
MAX_DRAIN = 16 << 20  # larger refused bodies are not even read: the connection is closed
SOCKET_TIMEOUT = 30.0

AdminRoute = Callable[[Any], tuple[int, Any]]


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], *, gateway: Gateway,
                 admin: dict[tuple[str, str], AdminRoute]) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway
        self.admin = admin
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, conn: socket.socket, *, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        """Shut down kept-alive client connections, so no request is served after stop."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("Connection error", exc_info=True, extra={"client": str(client_address)})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, alive=True)
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        try:
            body = self._read_body()
            if body is None:
                return
            path, _, query = self.path.partition("?")
            if path.startswith("/_admin/"):
                self._admin(method, path, body)
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = self.server.gateway.handle(SignedRequest(method, path, query, headers, body))
            if reply.drop:
                self._drop()
                return
            self._send(200, reply.body)
        except (OSError, ValueError):
            self.close_connection = True
        except Exception:
            log.exception("Emulator request failed")
            self.close_connection = True
            try:
                self._send(200, error_body("00000000-0000-0000-0000-000000000000", "InternalError", "internal error"))
            except OSError:
                pass

    def _read_body(self) -> bytes | None:
        raw_length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(200, error_body("-", "InvalidParameter", "Chunked bodies are not supported."))
            return None
        try:
            length = int(raw_length) if raw_length is not None else 0
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._discard(length)
            self._send(200, error_body("-", "InvalidParameter", f"The body must be 0..{MAX_BODY} bytes."))
            return None
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        """Read (and drop) a refused body of sane size, so the client sees the reply, not a reset."""
        remaining = length if 0 < length <= MAX_DRAIN else 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    def _admin(self, method: str, path: str, body: bytes) -> None:
        route = self.server.admin.get((method, path.rstrip("/")))
        if route is None:
            self._send(404, json.dumps({"Error": {"Code": "NotFound", "Message": path}}).encode())
            return
        try:
            parsed = json.loads(body) if body.strip() else None
            status, payload = route(parsed)
        except ApiError as e:
            status, payload = 400, {"Error": {"Code": e.code, "Message": e.message}}
        except (ValueError, RecursionError) as e:
            status, payload = 400, {"Error": {"Code": "InvalidParameter", "Message": str(e)}}
        self._send(status, json.dumps(payload).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
