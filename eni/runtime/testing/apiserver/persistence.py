"""Saving and loading the server's state as one JSON file, atomically.

The file is written to a temporary sibling, fsynced and renamed over the old one, so a crash
leaves either the previous or the new state, never a torn file. Loading a missing file is not an
error (a first start); loading a corrupt one is, loudly, because silently starting empty would
lose a cluster.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any


def save(path: str, state: dict[str, Any]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".apiserver-state-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(state, separators=(",", ":")).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load(path: str) -> dict[str, Any] | None:
    """The saved state, or None when there is no file yet; ValueError when it is unreadable."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot load API server state from {path}: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise ValueError(f"cannot load API server state from {path}: not a state file")
    return data
