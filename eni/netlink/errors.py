"""Errors of the host-networking layer; pyroute2's exceptions never leave `eni.netlink.pyroute`.

::

    NetlinkError(op, errno, message)      a kernel request failed (errno as the kernel gave it)
      ├── NamespaceNotFound               the network namespace path does not exist (ENOENT)
      └── LinkNotFound                    a link looked up by name or MAC is absent (ENODEV)

Bad requests (an invalid spec) raise ValueError from the value types before anything is changed.
"""

from __future__ import annotations

import errno as errno_codes
import os

__all__ = ["LinkNotFound", "NamespaceNotFound", "NetlinkError"]


class NetlinkError(Exception):
    """A netlink request (or namespace/sysctl access) failed; `op` names it like an `ip` command."""

    def __init__(self, op: str, errno: int, message: str = "") -> None:
        self.op = op
        self.errno = errno
        self.message = message or os.strerror(errno)
        super().__init__(f"{op}: {self.message} (errno {errno})")

    def __reduce__(self) -> tuple[type[NetlinkError], tuple[str, int, str]]:
        return (type(self), (self.op, self.errno, self.message))


class NamespaceNotFound(NetlinkError):
    """The network namespace at a path does not exist (any more)."""

    def __init__(self, op: str, errno: int = errno_codes.ENOENT, message: str = "") -> None:
        super().__init__(op, errno, message)


class LinkNotFound(NetlinkError):
    """No link with the given name or MAC exists in the namespace."""

    def __init__(self, op: str, errno: int = errno_codes.ENODEV, message: str = "") -> None:
        super().__init__(op, errno, message)
