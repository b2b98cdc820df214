"""RtnlSocket against the kernel: batches keep going after an error, GETs of absent links, pool lifecycle."""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from eni.netlink.errors import NetlinkError
from eni.netlink.namespace import entered
from eni.netlink.pyroute.rtnl import Outcome, Request, RtnlPool, RtnlSocket, get_link_request


def _up(index: int) -> Request:
    return Request("ip link set up", ifinfmsg, 16, fields={"index": index, "flags": 1, "change": 1})


def test_a_batch_answers_every_request_in_order(netns_factory: Any) -> None:
    ns = netns_factory("rtnl")
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        with entered(fd, op="test"):
            sock = RtnlSocket(timeout=5)
        with sock:
            assert sock.get_link(ifname="nosuch0") is None
            lo = sock.get_link(ifname="lo")
            assert lo is not None and lo.index == 1 and not lo.up
            with pytest.raises(NetlinkError) as e:
                sock.run(_up(999), _up(1))
            assert e.value.errno == errno.ENODEV
            lo = sock.get_link(index=1)
            assert lo is not None and lo.up  # the request after the failed one still ran
            outcomes = sock.run(Request("ip link set up", ifinfmsg, 16, fields={"index": 999, "flags": 1},
                                        ok=frozenset({errno.ENODEV})), get_link_request(ifname="lo"))
            assert outcomes[0].errno == errno.ENODEV and outcomes[1].message is not None
    finally:
        os.close(fd)
    assert "UP" in ns.ip("link", "show", "lo")


def test_failures_inside_a_batch_are_reported_and_the_socket_stays_in_sync(netns_factory: Any) -> None:
    ns = netns_factory("batch")
    ns.ip("link", "add", "name", "pair0", "type", "veth", "peer", "name", "pair1")
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        with entered(fd, op="test"):
            sock = RtnlSocket(timeout=5)
        with sock:
            pair0, pair1 = sock.get_link(ifname="pair0"), sock.get_link(ifname="pair1")
            assert pair0 is not None and pair1 is not None
            absent = frozenset({errno.ENODEV})
            outcomes = sock.run(_up(pair0.index), Request("ip link set up", ifinfmsg, 16, ok=absent,
                                                          fields={"index": 9999, "flags": 1, "change": 1}),
                                get_link_request(ifname="nosuch0"), _up(pair1.index))
            assert [o.errno for o in outcomes] == [0, errno.ENODEV, 0, 0] and outcomes[2].message is None
            for _ in range(3):  # no stray answer of that batch is taken for one of these
                [lo] = sock.run(get_link_request(ifname="lo"))
                assert lo.message is not None and lo.message.ifname == "lo"
                assert sock.run(_up(1), _up(pair0.index)) == [Outcome(0), Outcome(0)]
    finally:
        os.close(fd)
    assert "UP" in ns.ip("link", "show", "pair0") and "UP" in ns.ip("link", "show", "pair1")


def test_pool_sockets_live_in_the_pool_namespace_and_close(netns_factory: Any) -> None:
    ns = netns_factory("pool")
    ns.ip("link", "add", "name", "only-here0", "type", "veth", "peer", "name", "only-here1")
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        pool = RtnlPool(fd, size=2, timeout=5)
        with pool.lease() as a, pool.lease() as b:
            assert a is not b
            assert a.get_link(ifname="only-here0") is not None and b.get_link(ifname="only-here1") is not None
        pool.close()
        with pytest.raises(NetlinkError) as closed, pool.lease():
            pass
        assert closed.value.errno == errno.EBADF
    finally:
        os.close(fd)
    assert socket.if_nametoindex("lo") == 1  # the host namespace answers as before


def test_an_exhausted_pool_times_out_instead_of_blocking(netns_factory: Any) -> None:
    ns = netns_factory("busy")
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        pool = RtnlPool(fd, size=1, timeout=0.2)
        with pool.lease():
            with pytest.raises(NetlinkError) as busy, pool.lease():
                pass
            assert busy.value.errno == errno.ETIMEDOUT
        with pool.lease() as sock:
            assert sock.get_link(ifname="lo") is not None
        pool.close()
    finally:
        os.close(fd)


def test_an_answer_that_never_comes_times_out_and_breaks_the_socket(netns_factory: Any, monkeypatch: Any) -> None:
    """The receive timeout is the kernel's (SO_RCVTIMEO): a batch the kernel does not answer (here: its ack
    flag stripped) ends in ETIMEDOUT after the timeout, not a hang, and the socket is dropped from then on."""
    import time

    from eni.netlink.pyroute import rtnl

    ns = netns_factory("silent")
    fd = os.open(ns.path, os.O_RDONLY)
    encode = rtnl._encode
    monkeypatch.setattr(rtnl, "_encode", lambda request, seq, *, ack=True: encode(request, seq, ack=False))
    try:
        with entered(fd, op="test"):
            sock = RtnlSocket(timeout=0.3)
        with sock:
            started = time.monotonic()
            with pytest.raises(NetlinkError) as silent:
                sock.run(_up(1))
            assert silent.value.errno == errno.ETIMEDOUT and 0.25 < time.monotonic() - started < 5
            assert sock.broken
    finally:
        os.close(fd)
