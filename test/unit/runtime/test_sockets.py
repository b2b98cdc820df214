"""Kernel-side socket timeouts: a receive with nothing to read ends after the timeout, without a poll."""

import socket
import struct
import time

import pytest

from eni.runtime.sockets import MIN_TIMEOUT, time_out_in_kernel


def test_a_silent_peer_times_out_the_receive_and_the_socket_stays_blocking():
    left, right = socket.socketpair()
    with left, right:
        time_out_in_kernel(left, 0.2)
        assert left.gettimeout() is None  # no Python-side timeout: no poll before each call
        started = time.monotonic()
        with pytest.raises(BlockingIOError):
            left.recv(10)
        assert 0.15 < time.monotonic() - started < 5
        right.sendall(b"x")
        assert left.recv(10) == b"x"


def test_a_zero_or_negative_timeout_is_raised_to_the_minimum_never_wait_forever():
    left, right = socket.socketpair()
    with left, right:
        time_out_in_kernel(left, 0)
        seconds, micros = struct.unpack("@ll", left.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
        assert (seconds, micros) != (0, 0) and seconds + micros / 1e6 >= MIN_TIMEOUT * 0.99
