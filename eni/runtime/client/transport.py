"""Raw JSON requests to the API server, with our own decoding, over a pluggable HTTP connector.

Two connectors exist: the official client's ApiClient (``KubeTransport(api_client)``: its kubeconfig handling,
bearer tokens, TLS and urllib3 pool), and ``eni.runtime.client.stdlib.StdlibConnector``
(``KubeTransport(connector=...)``: ``http.client``/``ssl`` only, for processes that must stay small, such as the
node agent). Either way objects stay plain ``dict``s, which is several times lighter and faster than the
official model classes for caches of thousands of pods. Every request has a timeout. Non-2xx answers become
typed ``ApiError``s; failures without an HTTP answer become ``TransportError``s. This module never retries and
never imports ``kubernetes`` at run time.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from eni.runtime.client.errors import ApiError, TransportError, error_from_status

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

Query = Sequence[tuple[str, str]]
Timeout = float | tuple[float, float]
"""Seconds for the whole request, or (connect, read) seconds for a stream."""

DEFAULT_TIMEOUT = 30.0
"""Seconds for a whole non-streaming request."""


class HttpResponse(Protocol):
    """An answer of a connector. Its methods raise ``TransportError`` when the connection fails."""

    @property
    def status(self) -> int: ...

    def header(self, name: str) -> str | None: ...

    def read_all(self) -> bytes:
        """The whole body; then the connection may serve another request."""
        ...

    def chunks(self) -> Iterator[bytes]:
        """The body piece by piece as it arrives (a watch); ends at the end of the body."""
        ...

    def close(self) -> None:
        """Drop the connection; callable from any thread, a reader blocked in ``chunks`` wakes up."""
        ...


class Connector(Protocol):
    """Sends one HTTP request to the API server, authenticated. Thread-safe."""

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
        """Send ``body`` (JSON-encoded unless None) and return once the answer's headers are in."""
        ...

    def close(self) -> None:
        """Close idle connections."""
        ...


class KubeTransport:
    """Sends JSON requests to the API server through a connector. Thread-safe.

    ``KubeTransport(api_client)`` goes through the official client; ``KubeTransport(connector=c)`` through ``c``.
    """

    def __init__(
        self,
        api_client: ApiClient | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connector: Connector | None = None,
    ) -> None:
        if (api_client is None) == (connector is None):
            raise ValueError("give either an ApiClient or a connector")
        self.connector: Connector = connector if connector is not None else ApiClientConnector(api_client)
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer (None for an empty body)."""
        resp = self.connector.send(method, path, query=query, body=body, headers=_headers(content_type),
                                   timeout=timeout if timeout is not None else self.timeout)
        data = resp.read_all()
        if not 200 <= resp.status <= 299:
            raise _error_from_response(resp.status, data, resp.header("Retry-After"))
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            raise ApiError(resp.status, "BadResponse", f"{method} {path}: undecodable JSON") from e

    def stream(self, path: str, *, query: Query = (), read_timeout: float) -> HttpResponse:
        """Open a streaming GET (a watch); the caller reads it with ``iter_lines`` and must ``close_stream`` it."""
        resp = self.connector.send("GET", path, query=query, body=None, headers=_headers("application/json"),
                                   timeout=(min(self.timeout, 10.0), read_timeout))
        if not 200 <= resp.status <= 299:
            try:
                data = resp.read_all()
            except TransportError:
                data = b""
            finally:
                resp.close()
            raise _error_from_response(resp.status, data, resp.header("Retry-After"))
        return resp

    def close(self) -> None:
        """Close the connector's idle connections (an ApiClient passed in stays its owner's to close)."""
        self.connector.close()


def iter_lines(resp: HttpResponse) -> Iterator[bytes]:
    """Yield each newline-terminated line of a streaming response as soon as it arrives.

    Raises TransportError when the connection breaks or a read times out.
    """
    buffer = b""
    for chunk in resp.chunks():
        buffer += chunk
        while True:
            line, sep, rest = buffer.partition(b"\n")
            if not sep:
                break
            buffer = rest
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


def close_stream(resp: HttpResponse) -> None:
    """Close a streaming response, from any thread; a reader blocked on it wakes up with an error or EOF."""
    resp.close()


def _headers(content_type: str) -> dict[str, str]:
    return {"Accept": "application/json", "Content-Type": content_type}


def _error_from_response(status: int, data: bytes, retry_after: str | None) -> ApiError:
    try:
        body = json.loads(data) if data else None
    except ValueError:
        body = {"message": data[:200].decode("utf-8", "replace")}
    seconds: float | None = None
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            seconds = None
    return error_from_status(status, body if isinstance(body, dict) else None, retry_after=seconds)


# -- the official client's connector ---------------------------------------------------------------------------

# The official client lets its HTTP library's exceptions (urllib3's, which are not OSErrors) escape; we do not
# import that library (runtime depends on kubernetes only), so any exception out of the vendor call is a
# transport failure, chained as the cause.
_VENDOR_FAILURES = (Exception,)


class ApiClientConnector:
    """Requests through ``ApiClient.param_serialize`` + ``call_api``: the official client's auth, TLS and pool."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

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
        serialized = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query) or None,
            header_params=dict(headers),
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            rest_response = self.api_client.call_api(*serialized, _request_timeout=timeout)
        except _VENDOR_FAILURES as e:
            raise TransportError(f"{method} {path}: {e}") from e
        return _Urllib3Response(rest_response.response, f"{method} {path}")

    def close(self) -> None:
        """Nothing: the ApiClient belongs to whoever made it."""


class _Urllib3Response:
    """The official client's raw (urllib3) response as an HttpResponse."""

    def __init__(self, raw: Any, what: str) -> None:
        self._raw = raw
        self._what = what

    @property
    def status(self) -> int:
        return int(self._raw.status)

    def header(self, name: str) -> str | None:
        value = self._raw.headers.get(name)
        return None if value is None else str(value)

    def read_all(self) -> bytes:
        try:
            return bytes(self._raw.data)
        except _VENDOR_FAILURES as e:
            raise TransportError(f"{self._what}: {e}") from e
        finally:
            self._raw.release_conn()

    def chunks(self) -> Iterator[bytes]:
        raw = self._raw
        try:
            if raw.chunked and raw.supports_chunked_reads():
                yield from raw.read_chunked(decode_content=True)
            else:
                yield from iter(lambda: bytes(raw.read1(65536)), b"")
        except _VENDOR_FAILURES as e:
            raise TransportError(f"watch stream broke: {e}") from e

    def close(self) -> None:
        sock = getattr(getattr(self._raw, "connection", None), "sock", None)
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self._raw.close()
        except _VENDOR_FAILURES:
            pass
