"""ICMP echo from inside a simulated namespace, without a ``ping`` binary (the machines may have none).

A raw socket opened inside the namespace (setns on the calling thread, switched straight back) keeps that
namespace for its life, so the probe never sends anything from the host's own namespace.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time

from eni.netlink.namespace import entered, netns_path

_PAYLOAD = b"tke-eni-sim!"


def _checksum(data: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _echo_request(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + _PAYLOAD), ident, seq) + _PAYLOAD


def open_socket_in(netns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket created inside namespace ``netns`` (a name under /run/netns or a path)."""
    fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        with entered(fd, op=f"socket in {netns}"):
            return socket.socket(family, kind, proto)
    finally:
        os.close(fd)


def ping(netns: str, target: str, *, timeout: float = 2.0, source: str | None = None) -> float | None:
    """One ICMP echo from ``netns`` to ``target``: the round trip in seconds, or None without a reply."""
    with open_socket_in(netns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        if source:
            sock.bind((source, 0))
        ident, seq = secrets.randbits(16), 1
        started = time.monotonic()
        try:
            sock.sendto(_echo_request(ident, seq), (target, 0))
        except OSError:
            return None  # no route: unreachable, like a lost echo
        deadline = started + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                packet, (sender, _) = sock.recvfrom(65535)
            except TimeoutError:
                return None
            header = (packet[0] & 0x0F) * 4
            if len(packet) < header + 8:
                continue
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", packet[header:header + 8])
            if kind == 0 and rid == ident and rseq == seq and sender == target:
                return time.monotonic() - started
        return None


def ping_until(netns: str, target: str, *, attempts: int = 5, timeout: float = 1.0) -> float | None:
    """Up to ``attempts`` echoes (neighbour and route set-up can eat the first); the first round trip seen."""
    for _ in range(max(1, attempts)):
        rtt = ping(netns, target, timeout=timeout)
        if rtt is not None:
            return rtt
    return None
