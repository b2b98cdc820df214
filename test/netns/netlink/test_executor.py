"""NodeExecutor: requests run inside the node namespace, errors come back, a closed executor refuses work."""

from __future__ import annotations

import errno
import os
import threading
from typing import Any

import pytest

from eni.netlink.errors import NetlinkError
from eni.netlink.pyroute.executor import NodeExecutor


def test_requests_run_in_the_node_namespace_and_errors_propagate(netns_factory: Any) -> None:
    ns = netns_factory("exec")
    ns.ip("link", "add", "name", "marker0", "type", "veth", "peer", "name", "marker1")
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        executor = NodeExecutor(fd, workers=2, timeout=10)
        try:
            names = executor.run(lambda ipr: sorted(m.get("IFLA_IFNAME") for m in ipr.link("dump")))
            assert names == ["lo", "marker0", "marker1"]
            with pytest.raises(ZeroDivisionError):
                executor.run(lambda ipr: 1 / 0)
            assert executor.run(lambda ipr: 42) == 42
        finally:
            executor.close()
        with pytest.raises(NetlinkError) as closed:
            executor.run(lambda ipr: None)
        assert closed.value.errno == errno.EBADF
    finally:
        os.close(fd)


def test_a_namespace_it_cannot_enter_is_a_clear_error(tmp_path: Any) -> None:
    not_a_namespace = tmp_path / "plain-file"
    not_a_namespace.write_text("")
    fd = os.open(not_a_namespace, os.O_RDONLY)
    try:
        with pytest.raises(NetlinkError, match="node namespace"):
            NodeExecutor(fd, workers=1, timeout=10)
    finally:
        os.close(fd)


def test_a_request_that_does_not_answer_in_time_times_out(netns_factory: Any) -> None:
    ns = netns_factory("slow")
    release = threading.Event()
    fd = os.open(ns.path, os.O_RDONLY)
    try:
        executor = NodeExecutor(fd, workers=1, timeout=0.2)
        try:
            with pytest.raises(NetlinkError) as late:
                executor.run(lambda ipr: release.wait(10))
            assert late.value.errno == errno.ETIMEDOUT
            release.set()
            assert executor.run(lambda ipr: "recovered") == "recovered"
        finally:
            release.set()
            executor.close()
    finally:
        os.close(fd)
