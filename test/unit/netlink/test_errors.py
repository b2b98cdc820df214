"""Errors carry the operation and errno; pyroute2's exceptions are translated at the boundary."""

from __future__ import annotations

import errno
import pickle

import pytest
from pyroute2.netlink.exceptions import NetlinkError as PyrouteNetlinkError

from eni.netlink.errors import LinkNotFound, NamespaceNotFound, NetlinkError
from eni.netlink.pyroute.calls import call, ignoring


def test_errors_say_what_failed_and_survive_pickling() -> None:
    e = NetlinkError("ip link add veth1", errno.EEXIST)
    assert e.errno == errno.EEXIST and "ip link add veth1" in str(e) and "File exists" in str(e)
    again = pickle.loads(pickle.dumps(LinkNotFound("ip link del x")))
    assert isinstance(again, LinkNotFound) and again.errno == errno.ENODEV and again.op == "ip link del x"
    assert issubclass(NamespaceNotFound, NetlinkError) and NamespaceNotFound("x").errno == errno.ENOENT


def _raise(code: int) -> None:
    raise PyrouteNetlinkError(code)


def test_pyroute2_errors_are_translated_and_chained() -> None:
    with pytest.raises(LinkNotFound) as missing:
        call("ip link set x up", _raise, errno.ENODEV)
    assert isinstance(missing.value.__cause__, PyrouteNetlinkError)
    with pytest.raises(NetlinkError) as exists:
        call("ip rule add", _raise, errno.EEXIST)
    assert exists.value.errno == errno.EEXIST and exists.value.op == "ip rule add"


def test_ignoring_swallows_only_the_expected_codes() -> None:
    assert ignoring(frozenset({errno.EEXIST}), "ip rule add", _raise, errno.EEXIST) is False
    assert ignoring(frozenset({errno.EEXIST}), "ip rule add", lambda: None) is True
    with pytest.raises(NetlinkError):
        ignoring(frozenset({errno.EEXIST}), "ip rule add", _raise, errno.EPERM)
