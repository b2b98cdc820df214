"""Entering network namespaces on the calling thread (setns(2)), standard library only.

setns of a network namespace is per thread, costs ~0.3 ms in and out, and does not fork (pyroute2's
`IPRoute(netns=...)` forks a helper, ~10 ms), so the pod path switches the calling thread in and back. Netlink
sockets and /proc/sys/net files keep the namespace that was current when they were opened, so they are opened
inside `entered()`. (A plain socket may then be used from any thread; a pyroute2 `IPRoute` may not, see
`eni.netlink.pyroute.executor`.)

The namespace system calls here (open of a namespace file, setns, close) keep the interpreter lock: each takes
microseconds, and releasing the lock around them (as `os.open` and ctypes' CDLL do) lets any other thread take
it for as long as its own Python runs, which on the pod path cost an ADD a fifth of a millisecond per switch.

Must never leave a thread in a foreign namespace: `entered()` switches back in `finally`, and if even that fails
it raises `NamespaceEscapeError`, which callers must treat as fatal for the thread.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eni.netlink.errors import NamespaceNotFound, NetlinkError

__all__ = [
    "NETNS_RUN_DIR",
    "NamespaceEscapeError",
    "entered",
    "close_netns",
    "netns_path",
    "open_netns",
    "same_netns",
    "setns",
]

NETNS_RUN_DIR = "/run/netns"
"""Where `ip netns add <name>` bind-mounts named namespaces."""

_CLONE_NEWNET = 0x40000000
_THREAD_NETNS = "/proc/thread-self/ns/net"
# NB: PyDLL calls keep the interpreter lock (see the module docstring).
_libc = ctypes.PyDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.open.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.close.argtypes = (ctypes.c_int,)


class NamespaceEscapeError(RuntimeError):
    """The calling thread could not return to its own network namespace."""


class _OwnNetns:
    """A descriptor of a thread's own network namespace, closed with the thread's locals when it ends."""

    __slots__ = ("fd",)

    def __init__(self) -> None:
        self.fd = _open_readonly(_THREAD_NETNS)

    # NB: the close is bound now: at interpreter exit, threads' locals can outlive this module's globals.
    def __del__(self, _close: Callable[[int], int] = _libc.close) -> None:
        _close(self.fd)


# Per thread: "own", its own namespace (opened on the first `entered`, so that each later one spares the open of
# /proc/thread-self/ns/net), and "inside", the descriptor the thread is in within `entered`, if any.
_thread = threading.local()


def netns_path(name_or_path: str) -> str:
    """A namespace path from an `ip netns` name or a path (anything with a slash is taken as a path).

    >>> netns_path("node-1")
    '/run/netns/node-1'
    >>> netns_path("/proc/1/ns/net")
    '/proc/1/ns/net'
    """
    if "/" in name_or_path:
        return name_or_path
    if not name_or_path or name_or_path in (".", "..") or "\0" in name_or_path or len(name_or_path) > 255:
        raise ValueError(f"invalid netns name {name_or_path!r}")
    return f"{NETNS_RUN_DIR}/{name_or_path}"


def open_netns(path: str, *, op: str) -> int:
    """Open a namespace file read-only (close-on-exec); NamespaceNotFound if it is gone."""
    try:
        return _open_readonly(path)
    except FileNotFoundError as e:
        raise NamespaceNotFound(op, errno.ENOENT, f"network namespace {path} not found") from e
    except OSError as e:
        raise NetlinkError(op, e.errno or errno.EIO, f"cannot open network namespace {path}: {e.strerror}") from e


def close_netns(fd: int) -> None:
    """Close a descriptor from `open_netns`."""
    if _libc.close(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _open_readonly(path: str) -> int:
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise FileNotFoundError(errno.ENOENT, "embedded NUL in path", path)
    fd = int(_libc.open(encoded, os.O_RDONLY | os.O_CLOEXEC))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)  # NB: OSError picks the subclass (FileNotFoundError) by errno
    return fd


def same_netns(fd: int) -> bool:
    """Whether the namespace behind `fd` is the calling thread's current one."""
    mine = os.stat(_THREAD_NETNS)
    theirs = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace `fd` (setns(2) with CLONE_NEWNET) for good; OSError on
    failure. (`entered` is the way in and back.)"""
    _switch(fd)
    _thread.__dict__.pop("own", None)  # NB: the thread's own namespace is now another one


def _switch(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextmanager
def entered(fd: int, *, op: str) -> Iterator[None]:
    """Run the body with the calling thread inside the namespace `fd`, then switch back (``ip netns exec``).

    Back means the namespace the thread was in: its own, or the one of an enclosing `entered`.
    """
    outer: int | None = getattr(_thread, "inside", None)
    if outer is not None:
        home = outer
    else:
        own = _thread.__dict__.get("own")
        if own is None:
            own = _thread.own = _OwnNetns()
        home = own.fd
    try:
        _switch(fd)
    except OSError as e:
        raise NetlinkError(op, e.errno or errno.EINVAL, f"setns failed: {e.strerror}") from e
    _thread.inside = fd
    try:
        yield
    finally:
        _thread.inside = outer
        try:
            _switch(home)
        except OSError as e:  # pragma: no cover - only if the kernel refuses our own namespace back
            raise NamespaceEscapeError(f"cannot return to the thread's network namespace: {e}") from e
