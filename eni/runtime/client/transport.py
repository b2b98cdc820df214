"""Raw JSON requests over the official client's ApiClient: its configuration, auth and connection pool, but our
own decoding.

Going through ``ApiClient.param_serialize`` + ``call_api`` keeps kubeconfig handling, bearer tokens and TLS
exactly as the official client does them, while skipping its model classes: objects stay plain ``dict``s, which
is several times lighter and faster for caches of thousands of pods. Every request has a timeout. Non-2xx
answers become typed ``ApiError``s; this module never retries.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from kubernetes.client import ApiClient

from eni.runtime.client.errors import ApiError, TransportError, error_from_status

Query = Sequence[tuple[str, str]]


class HttpResponse(Protocol):
    """The part of the official client's raw (urllib3) response this module uses."""

    status: int
    headers: Mapping[str, str]
    chunked: bool

    @property
    def data(self) -> bytes: ...

    def release_conn(self) -> None: ...

    def supports_chunked_reads(self) -> bool: ...

    def read_chunked(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]: ...

    def read1(self, amt: int | None = None) -> bytes: ...

    def close(self) -> None: ...


# The official client lets its HTTP library's exceptions (urllib3's, which are not OSErrors) escape; we do not
# import that library (runtime depends on kubernetes only), so any exception out of the vendor call is a
# transport failure, chained as the cause.
_VENDOR_FAILURES = (Exception,)

DEFAULT_TIMEOUT = 30.0
"""Seconds for a whole non-streaming request."""


class KubeTransport:
    """Sends JSON requests to the API server configured in an ``ApiClient``. Thread-safe."""

    def __init__(self, api_client: ApiClient, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.api_client = api_client
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
        resp = self._send(method, path, query=query, body=body, content_type=content_type,
                          timeout=timeout if timeout is not None else self.timeout)
        try:
            data = resp.data
        except _VENDOR_FAILURES as e:
            raise TransportError(f"{method} {path}: {e}") from e
        finally:
            resp.release_conn()
        if not 200 <= resp.status <= 299:
            raise _error_from_response(resp.status, data, resp.headers.get("Retry-After"))
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            raise ApiError(resp.status, "BadResponse", f"{method} {path}: undecodable JSON") from e

    def stream(self, path: str, *, query: Query = (), read_timeout: float) -> HttpResponse:
        """Open a streaming GET (a watch); the caller reads it with ``iter_lines`` and must ``close_stream`` it."""
        resp = self._send("GET", path, query=query, body=None, content_type="application/json",
                          timeout=(min(self.timeout, 10.0), read_timeout))
        if not 200 <= resp.status <= 299:
            try:
                data = resp.data
            except _VENDOR_FAILURES:
                data = b""
            resp.release_conn()
            raise _error_from_response(resp.status, data, resp.headers.get("Retry-After"))
        return resp

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Query,
        body: Any,
        content_type: str,
        timeout: float | tuple[float, float],
    ) -> HttpResponse:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        serialized = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query) or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            rest_response = self.api_client.call_api(*serialized, _request_timeout=timeout)
        except _VENDOR_FAILURES as e:
            raise TransportError(f"{method} {path}: {e}") from e
        response: HttpResponse = rest_response.response
        return response


def iter_lines(resp: HttpResponse) -> Iterator[bytes]:
    """Yield each newline-terminated line of a streaming response as soon as it arrives.

    Raises TransportError when the connection breaks or a read times out.
    """
    buffer = b""
    try:
        if resp.chunked and resp.supports_chunked_reads():
            chunks: Iterator[bytes] = resp.read_chunked(decode_content=True)
        else:
            chunks = iter(lambda: resp.read1(65536), b"")
        for chunk in chunks:
            buffer += chunk
            while True:
                line, sep, rest = buffer.partition(b"\n")
                if not sep:
                    break
                buffer = rest
                if line.strip():
                    yield line
    except _VENDOR_FAILURES as e:
        raise TransportError(f"watch stream broke: {e}") from e
    if buffer.strip():
        yield buffer


def close_stream(resp: HttpResponse) -> None:
    """Close a streaming response, from any thread; a reader blocked on it wakes up with an error or EOF."""
    sock = getattr(getattr(resp, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        resp.close()
    except _VENDOR_FAILURES:
        pass


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
