"""The JSON mapping of the agent API on a unix socket, for the standard-library CNI plugins.

Framing: one request line ``{"method": "/tke.eni.agent.v1.<Service>/<Method>", "request": {...}}`` (the
request message in protobuf's JSON mapping) gets one reply line, ``{"reply": {...}}`` or ``{"error":
{"reason", "message", "cniCode", "retryable"}}``; then the server closes the connection.

The CNI plugins send a ``tke-cni/1`` frame instead, so that they parse nothing themselves (``cniverbs``):
``tke-cni/1 <plugin> <E> <S>\n`` then E bytes of NUL-separated ``CNI_*=value`` variables and S bytes of the
plugin's stdin; the reply is ``tke-cni/1 <exit status> <N>\n`` then the N bytes the plugin prints.

Why this shape: a fixed pool of worker threads blocks in ``accept`` on the one listening socket, so a burst
of pods queues in the kernel's backlog and is served by warm threads (no thread start per pod, and the
kernel wakes exactly one worker per connection).

Must never: crash or change state on garbage (bad framing, bad JSON, unknown method, oversized or silent
clients get an error reply or a close); wait on a client without a timeout; be reachable before it is 0600.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from eni.agent.cniconf import IO_FAILURE, LATEST_VERSION, MAX_STDIN_BYTES, CniFailure
from eni.agent.cniverbs import CniOutcome, CniVerbs
from eni.agent.errors import AgentError
from eni.agent.handlers import AgentHandlers, error_message
from eni.runtime.sockets import time_out_in_kernel

__all__ = ["JsonServerSettings", "JsonSocketServer"]

log = logging.getLogger(__name__)

_ACCEPT_POLL = 0.2
_BACKLOG = 512
CNI_FRAME = b"tke-cni/1"
_MAX_CNI_ENV_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class JsonServerSettings:
    path: Path
    workers: int = 16
    max_request_bytes: int = 64 * 1024
    connection_timeout: float = 10.0


class JsonSocketServer:
    """Serves ``handlers`` on a unix socket with ``workers`` threads until ``stop``."""

    def __init__(self, handlers: AgentHandlers, settings: JsonServerSettings) -> None:
        self._handlers = handlers
        self._cni = CniVerbs(handlers)
        self._settings = settings
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self._settings.path))
            # NB: chmod before listen(): nobody can connect before the socket is 0600.
            os.chmod(self._settings.path, 0o600)
            listener.listen(_BACKLOG)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        for i in range(self._settings.workers):
            thread = threading.Thread(target=self._serve, args=(listener,), name=f"agent-json-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float = 2.0) -> None:
        self._stop.set()
        if self._listener is not None:
            try:
                # NB: wakes every worker blocked in accept() (it fails with EINVAL), so they see the stop.
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=grace + _ACCEPT_POLL)
        self._threads.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _serve(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                # NB: a blocking accept without a timeout: the kernel wakes one waiting worker per connection
                # (a timeout would make every worker poll and wake), and stop() ends the wait by shutdown.
                conn, _ = listener.accept()
            except OSError:
                if self._stop.is_set():
                    return
                log.warning("Accept on the JSON socket failed", exc_info=True)
                self._stop.wait(_ACCEPT_POLL)
                continue
            with conn:
                try:
                    self._handle(conn)
                except OSError:
                    log.debug("JSON client went away", exc_info=True)
                except Exception:
                    # NB: a worker must outlive any request; losing workers one by one would starve the socket.
                    log.exception("JSON request failed")

    def _handle(self, conn: socket.socket) -> None:
        time_out_in_kernel(conn, self._settings.connection_timeout)
        head = self._read_line(conn)
        if head is None:
            return
        line, rest = head
        if line.startswith(CNI_FRAME + b" "):
            outcome = self._serve_cni(conn, line, rest)
            if outcome is not None:
                conn.sendall(b"%s %d %d\n%s" % (CNI_FRAME, outcome.status, len(outcome.stdout), outcome.stdout))
            return
        reply = self._dispatch(line)
        conn.sendall(json.dumps(reply, separators=(",", ":")).encode() + b"\n")

    def _read_line(self, conn: socket.socket) -> tuple[bytes, bytes] | None:
        """The first line (without its newline) and what followed it in the same reads; None: nothing to answer."""
        limit = self._settings.max_request_bytes
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = conn.recv(65536)
            if not chunk:
                return None  # EOF before a full line: nothing to answer
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunks.append(chunk[:newline])
                return b"".join(chunks), chunk[newline + 1:]
            chunks.append(chunk)
            size += len(chunk)
        error = _error_object("INVALID_REQUEST", f"request longer than {limit} bytes", 4)
        conn.sendall(json.dumps({"error": error}).encode() + b"\n")
        return None

    def _serve_cni(self, conn: socket.socket, line: bytes, rest: bytes) -> CniOutcome | None:
        """Reads the rest of a ``tke-cni/1`` frame and runs it; None when the client left before sending it all."""
        parts = line.split(b" ")
        try:
            if len(parts) != 4:
                raise ValueError("want 4 fields")
            plugin, env_size, stdin_size = parts[1].decode("ascii"), int(parts[2]), int(parts[3])
            if not 0 <= env_size <= _MAX_CNI_ENV_BYTES or not 0 <= stdin_size <= MAX_STDIN_BYTES:
                raise ValueError("sizes out of range")
        except ValueError as e:
            failure = CniFailure(IO_FAILURE, f"malformed request frame from the CNI plugin: {e}")
            return CniOutcome(1, json.dumps(failure.document(LATEST_VERSION)).encode() + b"\n")
        body = _read_exactly(conn, rest, env_size + stdin_size,
                             deadline=time.monotonic() + self._settings.connection_timeout)
        if body is None:
            return None
        environ = {}
        for pair in body[:env_size].split(b"\0"):
            key, sep, value = pair.partition(b"=")
            if sep and key.startswith(b"CNI_"):
                environ[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        return self._cni.run(plugin, environ, body[env_size:])

    def _dispatch(self, line: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(line)
            if not isinstance(envelope, dict):
                raise ValueError("the request must be a JSON object")
            method = self._handlers.methods.get(str(envelope.get("method")))
            if method is None:
                raise ValueError(f"unknown method {envelope.get('method')!r}")
            body = envelope.get("request") or {}
            if not isinstance(body, dict):
                raise ValueError("request must be a JSON object")
            request = json_format.ParseDict(body, method.request_type())
        except (ValueError, RecursionError, json_format.ParseError) as e:
            return {"error": _error_object("INVALID_REQUEST", f"malformed request: {e}", 4)}
        try:
            reply = method.handler(request)
        except Exception as e:
            if not isinstance(e, AgentError):
                log.exception("Agent API call failed", extra={"method": method.path})
            return {"error": json_format.MessageToDict(error_message(e))}
        return {"reply": json_format.MessageToDict(reply)}


def _read_exactly(conn: socket.socket, have: bytes, size: int, *, deadline: float) -> bytes | None:
    """``size`` bytes: ``have`` and more from ``conn``; None when the client closes first. A client that takes
    longer than ``deadline`` (monotonic) for all of it times out (an ``OSError``), however it spaces its bytes."""
    chunks, got = [have[:size]], min(len(have), size)
    while got < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the CNI plugin's request did not arrive in time")
        time_out_in_kernel(conn, remaining)
        chunk = conn.recv(min(65536, size - got))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _error_object(reason: str, message: str, cni_code: int) -> dict[str, Any]:
    return {"reason": reason, "message": message, "cniCode": cni_code, "retryable": False}
