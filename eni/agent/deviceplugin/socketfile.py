"""Unix socket files in the kubelet's plugin folder: telling one incarnation from the next, clearing stale ones.

The kubelet signals a restart only by recreating ``kubelet.sock``, and on start it wipes the plugin sockets
in its folder. Comparing a ``FileIdentity`` (device, inode, mtime) taken now with one taken earlier is how a
plugin notices either. Only sockets are ever removed: a regular file or folder at a socket path is an
operator's mistake to report, not something to delete.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import SocketPathError


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which incarnation of a file a path pointed to."""

    device: int
    inode: int
    mtime_ns: int


def file_identity(path: Path) -> FileIdentity | None:
    """The identity of what ``path`` names now, or None when nothing does."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return FileIdentity(device=st.st_dev, inode=st.st_ino, mtime_ns=st.st_mtime_ns)


def remove_socket(path: Path, *, only: FileIdentity | None = None) -> bool:
    """Remove the unix socket at ``path`` (if ``only`` is given, only that incarnation); return whether it did.

    Raises SocketPathError when ``path`` would be removed but is not a socket.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if only is not None and (st.st_dev, st.st_ino) != (only.device, only.inode):
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise SocketPathError(f"{path} exists and is not a unix socket; refusing to replace it")
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
