"""The plugins' client of the agent's JSON socket: one request line, one reply line, bounded in time and size.

It uses ``_socket`` directly: the ``socket`` wrapper module costs milliseconds of every plugin start and
adds nothing a single blocking unix-socket exchange needs.
Must never: wait without a timeout, or import anything outside the standard library (Python >= 3.8).
"""

from __future__ import annotations

import _socket
import time

from . import jsonio
from .errors import IO_FAILURE, TRY_AGAIN_LATER, CniError
from .forward import connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict

PACKAGE = "tke.eni.agent.v1"
MAX_REPLY_BYTES = 1 << 20


def call(socket_path: str, method: str, request: Dict[str, Any], *, timeout: float) -> Dict[str, Any]:
    """Calls ``/tke.eni.agent.v1.<method>`` and returns its reply; agent errors become ``CniError``."""
    line = jsonio.dumps({"method": "/%s.%s" % (PACKAGE, method), "request": request}).encode() + b"\n"
    return decode_reply(_exchange(socket_path, line, timeout))


def decode_reply(raw: bytes) -> Dict[str, Any]:
    """The reply of one JSON reply line; its error as ``CniError`` (the agent's code, message and reason)."""
    try:
        doc = jsonio.loads(raw)
    except ValueError:
        raise CniError(IO_FAILURE, "the tke-eni agent sent a malformed reply") from None
    if not isinstance(doc, dict):
        raise CniError(IO_FAILURE, "the tke-eni agent sent a malformed reply")
    error = doc.get("error")
    if isinstance(error, dict):
        code = error.get("cniCode")
        raise CniError(code if isinstance(code, int) and code > 0 else 999,
                       str(error.get("message") or "the tke-eni agent failed"),
                       str(error.get("reason") or ""))
    reply = doc.get("reply")
    return reply if isinstance(reply, dict) else {}


def _exchange(socket_path: str, line: bytes, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        connect(sock, socket_path, deadline)
        try:
            sock.sendall(line)
            return _read_line(sock, deadline)
        except _socket.timeout:
            raise CniError(TRY_AGAIN_LATER, "the tke-eni agent did not answer within %.1fs" % timeout) from None
        except OSError as e:
            raise CniError(TRY_AGAIN_LATER, "lost the connection to the tke-eni agent: %s" % e) from None
    finally:
        sock.close()


def _read_line(sock: _socket.socket, deadline: float) -> bytes:
    chunks = []
    size = 0
    while size <= MAX_REPLY_BYTES:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    if size > MAX_REPLY_BYTES:
        raise CniError(IO_FAILURE, "the tke-eni agent's reply is too large")
    if not chunks:
        raise CniError(TRY_AGAIN_LATER, "the tke-eni agent closed the connection without a reply")
    return b"".join(chunks)
