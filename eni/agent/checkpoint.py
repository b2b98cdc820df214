"""Crash-safe persistence of one JSON document (the agent's allocation ledger).

Why this shape: the ledger must survive ``kill -9`` at any instant. A save writes a temp file in the
same directory, fsyncs it, renames it over the checkpoint (atomic on POSIX) and fsyncs the directory, so
the file on disk is always either the previous complete document or the new one. The file operations
sit behind ``FileOps`` so that tests can fail or snapshot the directory between any two of them.

Must never: leave a temp file behind after a failed save, overwrite the checkpoint in place, or load a
half-written document silently (a corrupt checkpoint raises ``CheckpointError``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["CheckpointError", "FileOps", "JsonFileCheckpointer", "OsFileOps", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"


class CheckpointError(Exception):
    """The checkpoint cannot be read (corrupt, wrong version) or written."""


class FileOps(Protocol):
    """The system calls a save is made of, in the order they run."""

    def create(self, path: Path) -> int: ...
    def write(self, fd: int, data: bytes) -> None: ...
    def fsync(self, fd: int) -> None: ...
    def close(self, fd: int) -> None: ...
    def rename(self, src: Path, dst: Path) -> None: ...
    def fsync_dir(self, path: Path) -> None: ...
    def unlink(self, path: Path) -> None: ...


class OsFileOps:
    """``FileOps`` on the real file system."""

    def create(self, path: Path) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    def write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def rename(self, src: Path, dst: Path) -> None:
        os.rename(src, dst)

    def fsync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def unlink(self, path: Path) -> None:
        os.unlink(path)


@dataclass(slots=True)
class JsonFileCheckpointer:
    """Saves and loads one JSON object at ``path``; not thread-safe (its owner serialises calls)."""

    path: Path
    ops: FileOps

    @classmethod
    def at(cls, path: Path | str) -> JsonFileCheckpointer:
        return cls(path=Path(path), ops=OsFileOps())

    @property
    def temp_path(self) -> Path:
        return self.path.with_name(self.path.name + TEMP_SUFFIX)

    def load(self) -> dict[str, Any] | None:
        """The saved document, or None when nothing was ever saved. A temp file left by a crash is removed."""
        try:
            self.temp_path.unlink()
        except FileNotFoundError:
            pass
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise CheckpointError(f"checkpoint {self.path} is not valid JSON: {e}") from e
        if not isinstance(doc, dict):
            raise CheckpointError(f"checkpoint {self.path} does not hold a JSON object")
        return doc

    def save(self, doc: Mapping[str, Any], *, sync_directory: bool = True) -> None:
        """Durably replaces the checkpoint with ``doc``; on any failure the previous one stays intact.

        ``sync_directory=False`` skips the directory fsync: the new document is complete on disk and replaces
        the old one for every process at once (a ``kill -9`` cannot lose it), but a power loss may bring the
        previous document back. The ledger accepts that for pod allocations (a power loss kills their pods too)
        and never for its promises to ipamd.
        """
        data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        tmp = self.temp_path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = -1
        try:
            fd = self.ops.create(tmp)
            self.ops.write(fd, data)
            self.ops.fsync(fd)
            self.ops.close(fd)
            fd = -1
            self.ops.rename(tmp, self.path)
        except BaseException as e:
            self._discard(fd, tmp)
            if isinstance(e, OSError):
                raise CheckpointError(f"cannot write checkpoint {self.path}: {e}") from e
            raise
        # NB: after the rename the new document is visible; fsyncing the directory makes the rename durable.
        if not sync_directory:
            return
        try:
            self.ops.fsync_dir(self.path.parent)
        except OSError as e:
            raise CheckpointError(f"cannot sync directory of {self.path}: {e}") from e

    def _discard(self, fd: int, tmp: Path) -> None:
        if fd >= 0:
            try:
                self.ops.close(fd)
            except OSError:
                pass
        try:
            self.ops.unlink(tmp)
        except OSError:
            pass
