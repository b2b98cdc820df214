"""The agent API's two edges: grpcio on one unix socket, the JSON mapping (``jsonserver``) on another.

Why two: the CNI plugins run under the host's python3 and cannot load grpcio, so the same methods
(``AgentHandlers.methods``, keyed by gRPC path) with the same messages in their protobuf JSON mapping are
also served over a newline-framed unix socket. Both sockets are created mode 0600.

Must never: crash or change state on garbage; listen anywhere but the given unix sockets; block without a
timeout.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.message import Message

from eni.agent.errors import AgentError
from eni.agent.handlers import AgentHandlers, Method, Observer, error_info, error_message
from eni.agent.jsonserver import JsonServerSettings, JsonSocketServer
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

    def __init__(self, service: AgentService, settings: ServerSettings, *, observe: Observer | None = None) -> None:
        self._settings = settings
        self._handlers = AgentHandlers(service, observe=observe)
        self._grpc: grpc.Server | None = None
        self._json: JsonSocketServer | None = None

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
        self._json = JsonSocketServer(self._handlers, JsonServerSettings(
            path=s.json_socket, workers=s.workers, max_request_bytes=s.max_request_bytes,
            connection_timeout=s.connection_timeout))
        self._json.start()
        log.info("Serving the agent API", extra={"grpc": str(s.grpc_socket), "json": str(s.json_socket)})

    def stop(self, grace: float = 2.0) -> None:
        if self._json is not None:
            self._json.stop(grace)
            self._json = None
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
