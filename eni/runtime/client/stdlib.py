"""An HTTP connector for KubeTransport built on ``http.client`` and ``ssl`` only.

It exists so that a small process (the node agent) can talk to the API server without importing the official
client, which costs about 30 MiB of memory and most of a second of start-up. It does what KubeTransport needs
and no more: TLS verified against the configured CA (or the system store), client certificates, bearer tokens
re-read from their file whenever the file changes (rotated service-account tokens), basic auth, a small pool
of keep-alive connections (checked for a server-side close before reuse), whole-request deadlines for
ordinary requests and a per-read timeout for watch streams. Failures without an HTTP answer become
``TransportError``s. It retries only an idempotent request whose reused keep-alive connection turns out to have
been closed by the server, once, on a fresh connection; everything else is the caller's to retry.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from eni.runtime.client.errors import TransportError
from eni.runtime.client.transport import HttpResponse, Query, Timeout
from eni.runtime.kubeconfig import ClusterConfig, KubeConfigError

_IDEMPOTENT = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))
_DISCONNECTS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)
# ValueError: http.client's answer to a malformed chunk size (or a stream shut down mid-line).
_FAILURES = (OSError, http.client.HTTPException, ValueError)
_READ_SIZE = 65536


class StdlibConnector:
    """Sends requests to the API server of ``config``. Thread-safe; ``close`` drops the idle connections."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        max_idle_connections: int = 4,
        idle_timeout: float = 60.0,
        user_agent: str = "tke-eni",
    ) -> None:
        if max_idle_connections < 0 or idle_timeout <= 0:
            raise ValueError("max_idle_connections must be >= 0 and idle_timeout > 0")
        self.config = config
        self._context = ssl_context(config) if config.scheme == "https" else None
        self._credentials = Credentials(config)
        self._max_idle = max_idle_connections
        self._idle_timeout = idle_timeout
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._closed = False

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Query,
        headers: Mapping[str, str],
        body: Any,
        timeout: Timeout,
    ) -> HttpResponse:
        what = f"{method} {path}"
        if isinstance(timeout, tuple):
            connect_timeout, read_timeout = timeout
            deadline: float | None = None
        else:
            connect_timeout = read_timeout = timeout
            deadline = time.monotonic() + timeout
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        target = self._target(path, query)
        sent_headers = {**headers, "User-Agent": self._user_agent}
        authorization = self._credentials.authorization()
        if authorization:
            sent_headers["Authorization"] = authorization
        for first_try in (True, False):
            conn, reused = self._checkout(_remaining(deadline, what) if deadline is not None else connect_timeout)
            try:
                conn.request(method, target, body=payload, headers=sent_headers)
                _set_timeout(conn, _remaining(deadline, what) if deadline is not None else read_timeout)
                raw = conn.getresponse()
            except TransportError:
                conn.close()
                raise
            except _FAILURES as e:
                conn.close()
                if first_try and reused and method in _IDEMPOTENT and isinstance(e, _DISCONNECTS):
                    continue  # the server closed the idle connection as we reused it: nothing was processed
                raise TransportError(f"{what}: {type(e).__name__}: {e}") from e
            return StdlibResponse(raw, conn, release=self._checkin, deadline=deadline, what=what)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the idle connections and keep none from now on (requests still work, each on its own)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    def _target(self, path: str, query: Query) -> str:
        target = self.config.base_path + quote(path, safe="/:@!$&'()*+,;=-._~")
        return f"{target}?{urlencode(list(query))}" if query else target

    def _checkout(self, connect_timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if now - since < self._idle_timeout and not _dropped(conn):
                _set_timeout(conn, connect_timeout)
                return conn, True
            conn.close()
        return self._connect(connect_timeout), False

    def _connect(self, connect_timeout: float) -> http.client.HTTPConnection:
        if self._context is None:
            return http.client.HTTPConnection(self.config.host, self.config.port, timeout=connect_timeout)
        return _HTTPSConnection(self.config.host, self.config.port, timeout=connect_timeout, context=self._context,
                                server_name=self.config.tls_server_name or self.config.host)

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()


class StdlibResponse:
    """An ``http.client`` answer as the HttpResponse KubeTransport reads."""

    def __init__(
        self,
        raw: http.client.HTTPResponse,
        conn: http.client.HTTPConnection,
        *,
        release: Callable[[http.client.HTTPConnection], None],
        deadline: float | None,
        what: str,
    ) -> None:
        self._raw = raw
        self._conn = conn
        self._release = release
        self._deadline = deadline
        self._what = what
        self._lock = threading.Lock()
        self._closed = False
        self._reading = False

    @property
    def status(self) -> int:
        return self._raw.status

    def header(self, name: str) -> str | None:
        return self._raw.getheader(name)

    def read_all(self) -> bytes:
        parts = []
        try:
            while True:
                if self._deadline is not None:
                    _set_timeout(self._conn, _remaining(self._deadline, self._what))
                piece = self._raw.read1(_READ_SIZE)
                if not piece:
                    break
                parts.append(piece)
            self._raw.close()  # done with the body (not the socket): the connection may send the next request
        except TransportError:
            self.close()
            raise
        except _FAILURES as e:
            self.close()
            raise TransportError(f"{self._what}: {type(e).__name__}: {e}") from e
        if self._raw.will_close or self._closed:
            self.close()
        else:
            self._release(self._conn)
        return b"".join(parts)

    def chunks(self) -> Iterator[bytes]:
        with self._lock:
            if self._closed:
                return
            self._reading = True
        try:
            while True:
                piece = self._raw.read1(_READ_SIZE)
                if not piece:
                    return
                yield piece
        except _FAILURES as e:
            raise TransportError(f"watch stream broke: {type(e).__name__}: {e}") from e
        finally:
            with self._lock:
                self._reading = False
                self._closed = True
            self._conn.close()

    def close(self) -> None:
        # NB: only the socket is touched while another thread reads (http.client objects are not thread-safe):
        # the shutdown wakes the reader, which closes the connection itself on its way out.
        with self._lock:
            self._closed = True
            reading = self._reading
            sock = self._conn.sock
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if not reading:
            self._conn.close()


class Credentials:
    """The Authorization header of a ClusterConfig; a token file is re-read whenever it changes."""

    def __init__(self, config: ClusterConfig) -> None:
        self._token = config.token
        self._token_file = config.token_file
        self._basic = None
        if config.username is not None or config.password is not None:
            pair = f"{config.username or ''}:{config.password or ''}".encode()
            self._basic = "Basic " + base64.b64encode(pair).decode("ascii")
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        if self._token_file is not None:
            try:
                self._reload(self._token_file)
            except OSError as e:
                raise KubeConfigError(f"cannot read the token file {self._token_file}: {e}") from e
            if not self._token:
                raise KubeConfigError(f"the token file {self._token_file} is empty")

    def authorization(self) -> str | None:
        if self._token_file is not None:
            try:
                self._reload(self._token_file)
            except OSError:
                pass  # mid-rotation (the kubelet swaps a symlink): keep the last token
        if self._token:
            return f"Bearer {self._token}"
        return self._basic

    def _reload(self, path: str) -> None:
        st = os.stat(path)
        stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
            if token:
                self._token = token
                self._stamp = stamp


def ssl_context(config: ClusterConfig) -> ssl.SSLContext:
    """The TLS client context of ``config``: its CA (else the system's), its client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if config.insecure_skip_tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif config.ca_file or config.ca_data:
            context.load_verify_locations(cafile=config.ca_file,
                                          cadata=config.ca_data.decode("ascii") if config.ca_data else None)
        else:
            context.load_default_certs()
        _load_client_certificate(context, config)
    except (ssl.SSLError, OSError, UnicodeDecodeError) as e:
        raise KubeConfigError(f"unusable TLS settings for {config.server}: {e}") from e
    return context


def _load_client_certificate(context: ssl.SSLContext, config: ClusterConfig) -> None:
    if config.client_cert_file and config.client_key_file:
        context.load_cert_chain(config.client_cert_file, config.client_key_file)
        return
    if not (config.client_cert_file or config.client_cert_data):
        return
    cert = config.client_cert_data or _read(config.client_cert_file)
    key = config.client_key_data or _read(config.client_key_file)
    # NB: ssl loads key material from files only: a private (0600) temporary file, removed at once.
    fd, path = tempfile.mkstemp(prefix="tke-eni-client-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(cert.rstrip(b"\n") + b"\n" + key)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)


def _read(path: str | None) -> bytes:
    assert path is not None
    with open(path, "rb") as f:
        return f.read()


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that checks the certificate against ``server_name`` (kubeconfig tls-server-name)."""

    def __init__(self, host: str, port: int, *, timeout: float, context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls_context = context
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._server_name)


def _set_timeout(conn: http.client.HTTPConnection, seconds: float) -> None:
    conn.timeout = seconds
    if conn.sock is not None:
        conn.sock.settimeout(seconds)


def _remaining(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TransportError(f"{what}: timed out")
    return left


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection was closed by the server (readable means EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
