"""Thin wrappers around pyroute2 requests: kernel errors become `eni.netlink.errors`, replies become plain values.

Keeps pyroute2's message classes and exceptions inside this package. Must never swallow an error it was not
told to expect.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pyroute2.netlink.exceptions import NetlinkError as PyrouteNetlinkError

from eni.netlink.errors import LinkNotFound, NetlinkError

__all__ = [
    "attr",
    "call",
    "ignoring",
    "translated",
]


T = TypeVar("T")


@contextmanager
def translated(op: str) -> Iterator[None]:
    """Re-raise pyroute2's NetlinkError (and socket OSErrors) as our NetlinkError/LinkNotFound for `op`."""
    try:
        yield
    except PyrouteNetlinkError as e:
        code = int(e.code or errno.EIO)
        if code == errno.ENODEV:
            raise LinkNotFound(op, code) from e
        raise NetlinkError(op, code) from e
    except OSError as e:
        raise NetlinkError(op, e.errno or errno.EIO, str(e.strerror or e)) from e


def call(op: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` with errors translated for `op`."""
    with translated(op):
        return fn(*args, **kwargs)


def ignoring(codes: frozenset[int], op: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Like `call`, but an error whose errno is in `codes` is expected: returns False instead of raising."""
    try:
        call(op, fn, *args, **kwargs)
    except NetlinkError as e:
        if e.errno in codes:
            return False
        raise
    return True


def attr(msg: Any, name: str) -> Any:
    """A netlink attribute of a reply message, or None."""
    return msg.get(name)
