"""The agent API's two edges: grpcio on one unix socket, the JSON mapping on another.

Why two: the CNI plugins run under the host's python3 and cannot load grpcio, so the same methods
(``AgentHandlers.methods``, keyed by gRPC path) with the same messages in their protobuf JSON mapping are
also served over a newline-framed unix socket: one request line ``{"method": "/pkg.Service/Name",
"request": {...}}`` gets one reply line, ``{"reply": {...}}`` or ``{"error": {"reason", "message",
"cniCode", "retryable"}}``, then the server closes. Both sockets are created mode 0600.

Must never: crash or change state on garbage (bad framing, bad JSON, unknown method, oversized or slow
requests get an error reply or a close); listen anywhere but the given unix sockets; block without a timeout.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from eni.agent.errors import AgentError
from eni.agent.handlers import AgentHandlers, Method, error_info, error_message
from eni.agent.service import AgentService

__all__ = ["AgentServers", "ServerSettings", "run_servers"]

log = logging.getLogger(__name__)

_UMASK_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    grpc_socket: Path
    """Unix socket of the gRPC server."""
    json_socket: Path
    """Unix socket of the JSON mapping, used by the CNI plugins."""
    workers: int = 16
    """Threads serving gRPC calls; also the bound on concurrent JSON connections."""
    max_request_bytes: int = 64 * 1024
    """Longest JSON request line accepted."""
    connection_timeout: float = 10.0
    """Seconds a JSON client may take to send its request or read its reply."""


class AgentServers:
    """Both servers over one ``AgentService``; ``start`` binds, ``stop`` closes and removes the sockets."""

    def __init__(self, service: AgentService, settings: ServerSettings) -> None:
        self._settings = settings
        self._handlers = AgentHandlers(service)
        self._grpc: grpc.Server | None = None
        self._json: _JsonServer | None = None
        self._json_thread: threading.Thread | None = None

    def start(self) -> None:
        s = self._settings
        for path in (s.grpc_socket, s.json_socket):
            _prepare_socket_path(path)
        server = grpc.server(ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix="agent-grpc"),
                             handlers=_generic_handlers(self._handlers),
                             options=[("grpc.max_receive_message_length", s.max_request_bytes)])
        server.add_insecure_port(f"unix:{s.grpc_socket}")
        # NB: grpc binds in start(); the umask makes the socket 0600 from its first instant.
        with _UMASK_LOCK:
            old = os.umask(0o177)
            try:
                server.start()
            finally:
                os.umask(old)
        os.chmod(s.grpc_socket, 0o600)
        self._grpc = server
        self._json = _JsonServer(self._handlers, s)
        self._json_thread = threading.Thread(target=self._json.serve_forever, kwargs={"poll_interval": 0.2},
                                             name="agent-json", daemon=True)
        self._json_thread.start()
        log.info("Serving the agent API", extra={"grpc": str(s.grpc_socket), "json": str(s.json_socket)})

    def stop(self, grace: float = 2.0) -> None:
        if self._json is not None:
            self._json.shutdown()
            self._json.server_close()
            self._json = None
        if self._json_thread is not None:
            self._json_thread.join(timeout=grace + 1)
        if self._grpc is not None:
            self._grpc.stop(grace).wait(timeout=grace + 1)
            self._grpc = None
        for path in (self._settings.grpc_socket, self._settings.json_socket):
            _remove_socket(path)

    def __enter__(self) -> AgentServers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_servers(service: AgentService, settings: ServerSettings, stop: threading.Event) -> None:
    """Serves the agent API until ``stop`` is set."""
    with AgentServers(service, settings):
        stop.wait()


# --- gRPC ----------------------------------------------------------------------------------------------


def _generic_handlers(handlers: AgentHandlers) -> list[grpc.GenericRpcHandler]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for method in handlers.methods.values():
        service_name = method.path.split("/")[1]
        by_service.setdefault(service_name, {})[method.name] = grpc.unary_unary_rpc_method_handler(
            _grpc_behaviour(method),
            request_deserializer=method.request_type.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
    return [grpc.method_handlers_generic_handler(name, table) for name, table in by_service.items()]


def _grpc_behaviour(method: Method) -> Callable[[Message, grpc.ServicerContext], Message]:
    def behaviour(request: Message, context: grpc.ServicerContext) -> Message:
        try:
            return method.handler(request)
        except Exception as e:
            if not isinstance(e, AgentError):
                log.exception("Agent API call failed", extra={"method": method.path})
            info = error_info(e)
            context.set_trailing_metadata((("tke-eni-reason", info.reason), ("tke-eni-cni-code", str(info.cni_code))))
            context.abort(getattr(grpc.StatusCode, info.grpc_code), error_message(e).message)
            raise AssertionError("unreachable: abort raises") from e

    return behaviour


# --- JSON ----------------------------------------------------------------------------------------------


class _JsonServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handlers: AgentHandlers, settings: ServerSettings) -> None:
        self.handlers = handlers
        self.settings = settings
        self.slots = threading.BoundedSemaphore(settings.workers)
        super().__init__(str(settings.json_socket), _JsonConnection, bind_and_activate=False)
        try:
            self.server_bind()
            # NB: chmod before listen(): nobody can connect to the socket before it is 0600.
            os.chmod(settings.json_socket, 0o600)
            self.server_activate()
        except BaseException:
            self.server_close()
            raise


class _JsonConnection(socketserver.BaseRequestHandler):
    server: _JsonServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.server.settings.connection_timeout)
        if not self.server.slots.acquire(blocking=False):
            self._reply({"error": _error_object("UNAVAILABLE", "the agent is busy, try again", 11, True)})
            return
        try:
            line = self._read_line(sock)
            if line is not None:
                self._reply(self._dispatch(line))
        except OSError:
            log.debug("JSON client went away", exc_info=True)
        finally:
            self.server.slots.release()

    def _read_line(self, sock: socket.socket) -> bytes | None:
        limit = self.server.settings.max_request_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunks.append(chunk[:newline])
                size += newline
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        if size > limit:
            self._reply({"error": _error_object("INVALID_REQUEST", f"request longer than {limit} bytes", 4, False)})
            return None
        return b"".join(chunks)

    def _dispatch(self, line: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(line)
            if not isinstance(envelope, dict):
                raise ValueError("the request must be a JSON object")
            method = self.server.handlers.methods.get(str(envelope.get("method")))
            if method is None:
                raise ValueError(f"unknown method {envelope.get('method')!r}")
            body = envelope.get("request") or {}
            if not isinstance(body, dict):
                raise ValueError("request must be a JSON object")
            request = json_format.ParseDict(body, method.request_type())
        except (ValueError, json_format.ParseError) as e:
            return {"error": _error_object("INVALID_REQUEST", f"malformed request: {e}", 4, False)}
        try:
            reply = method.handler(request)
        except Exception as e:
            if not isinstance(e, AgentError):
                log.exception("Agent API call failed", extra={"method": method.path})
            return {"error": json_format.MessageToDict(error_message(e))}
        return {"reply": json_format.MessageToDict(reply)}

    def _reply(self, obj: dict[str, Any]) -> None:
        self.request.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n")


def _error_object(reason: str, message: str, cni_code: int, retryable: bool) -> dict[str, Any]:
    return {"reason": reason, "message": message, "cniCode": cni_code, "retryable": retryable}


def _prepare_socket_path(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    _remove_socket(path)


def _remove_socket(path: Path) -> None:
    """Removes a socket left by a previous run; refuses to remove anything that is not a socket."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    path.unlink(missing_ok=True)
