"""Socket timeouts kept in the kernel.

Why: Python's ``settimeout`` polls before every send and receive, twice the system calls, and in a threaded
daemon twice the hand-overs of the interpreter lock. SO_RCVTIMEO and SO_SNDTIMEO bound each call in the kernel
instead and leave the socket blocking; a call that times out raises ``BlockingIOError`` (EAGAIN).
Must never: set a zero timeval (to the kernel that means "wait forever").
"""

from __future__ import annotations

import socket
import struct

__all__ = ["MIN_TIMEOUT", "time_out_in_kernel"]

MIN_TIMEOUT = 0.001
"""Seconds; shorter (or negative) timeouts are raised to this."""
_TIMEVAL = struct.Struct("@ll")  # struct timeval


def time_out_in_kernel(sock: socket.socket, seconds: float) -> None:
    """Bounds each receive and each send on ``sock`` by ``seconds`` (at least ``MIN_TIMEOUT``)."""
    seconds = max(seconds, MIN_TIMEOUT)
    timeval = _TIMEVAL.pack(int(seconds), int((seconds % 1) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
