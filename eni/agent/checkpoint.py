"""Crash-safe persistence of one JSON document (the agent's allocation ledger) and of a journal of its changes.

Why this shape: the ledger must survive ``kill -9`` at any instant. A save writes a temp file in the
same directory, fsyncs it, renames it over the checkpoint (atomic on POSIX) and fsyncs the directory, so
the file on disk is always either the previous complete document or the new one. Rewriting the whole
document costs time in proportion to its size, so the ledger records each change as one line appended to an
``AppendJournal`` (write + fdatasync) and folds the journal into a new checkpoint only now and then. The
journal's header names the checkpoint generation it follows: a journal of an older generation (left by a crash
between the two renames of a compaction) is ignored, and a torn last line (the write that a crash cut short, whose
caller was never answered) is dropped. The file operations sit behind ``FileOps`` so that tests can fail or
snapshot the directory between any two of them.

Must never: leave a temp file behind after a failed save, overwrite the checkpoint in place, load a half-written
document silently (a corrupt checkpoint raises ``CheckpointError``), replay a journal over a checkpoint it does not
follow, or skip a damaged journal line that valid lines follow (that is corruption, not a torn tail).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["AppendJournal", "CheckpointError", "FileOps", "JOURNAL_SUFFIX", "Journal", "JournaledCheckpointer",
           "JsonFileCheckpointer", "OsFileOps", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"
JOURNAL_SUFFIX = ".journal"
_JOURNAL_FORMAT = 1


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
    def open_append(self, path: Path) -> int: ...
    def fdatasync(self, fd: int) -> None: ...
    def truncate(self, fd: int, size: int) -> None: ...


class Journal(Protocol):
    """Changes recorded after one checkpoint generation (``AppendJournal``)."""

    @property
    def records(self) -> int:
        """Records appended since the last ``restart``."""

    def read(self, generation: int) -> list[dict[str, Any]]: ...
    def restart(self, generation: int) -> None: ...
    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Returns once ``records`` are durable, after every record appended before them."""


@runtime_checkable
class JournaledCheckpointer(Protocol):
    """A checkpoint with a journal beside it (``JsonFileCheckpointer``); the ledger appends its changes there."""

    def load(self) -> dict[str, Any] | None: ...
    def save(self, doc: Mapping[str, Any], *, sync_directory: bool = True) -> None: ...
    def journal(self) -> Journal: ...


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

    def open_append(self, path: Path) -> int:
        # NB: no O_CREAT: a journal that vanished must be rewritten whole (with its header), not restarted empty.
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    def fdatasync(self, fd: int) -> None:
        os.fdatasync(fd)

    def truncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)


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

    def journal(self) -> AppendJournal:
        """The journal of changes beside this checkpoint (``<path>.journal``), over the same file operations."""
        return AppendJournal(self.path.with_name(self.path.name + JOURNAL_SUFFIX), self.ops)

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
        _write_replacing(self.ops, tmp, self.path, data, what="checkpoint")
        # NB: after the rename the new document is visible; fsyncing the directory makes the rename durable.
        if not sync_directory:
            return
        try:
            self.ops.fsync_dir(self.path.parent)
        except OSError as e:
            raise CheckpointError(f"cannot sync directory of {self.path}: {e}") from e


class AppendJournal:
    """Changes recorded after one checkpoint generation, one checksummed JSON line each; not thread-safe.

    ``restart`` replaces the file with an empty journal of a new generation (temp file, fsync, rename, directory
    fsync); ``append`` adds records durably (one write and one fdatasync for the whole batch). After a failed
    append what reached the file is unknown, so appends stop until the next ``restart``.
    """

    def __init__(self, path: Path, ops: FileOps) -> None:
        self.path = path
        self.ops = ops
        self._size: int | None = None  # bytes in the file this journal restarted; None: appends must wait
        self._records = 0

    @property
    def temp_path(self) -> Path:
        return self.path.with_name(self.path.name + TEMP_SUFFIX)

    @property
    def records(self) -> int:
        """Records appended since the last ``restart``."""
        return self._records

    def read(self, generation: int) -> list[dict[str, Any]]:
        """The records that follow checkpoint ``generation`` (none when the journal is older or absent).

        A torn last line is dropped; a header that is not this format or is newer than ``generation``, and a damaged
        line followed by intact ones, raise ``CheckpointError``. A temp file left by a crash is removed.
        """
        try:
            self.temp_path.unlink()
        except FileNotFoundError:
            pass
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise CheckpointError(f"cannot read journal {self.path}: {e}") from e
        lines = raw.split(b"\n")
        # NB: the header arrives by rename, whole, so it is never torn.
        header = _decode_line(lines[0])
        if header is None or header.get("journal") != _JOURNAL_FORMAT or not isinstance(header.get("generation"), int):
            raise CheckpointError(f"journal {self.path} has no valid header")
        if header["generation"] < generation:
            return []
        if header["generation"] > generation:
            raise CheckpointError(f"journal {self.path} follows checkpoint generation {header['generation']}, "
                                  f"newer than the checkpoint's {generation}")
        body = lines[1:]
        records: list[dict[str, Any]] = []
        for index, line in enumerate(body):
            # NB: split leaves the bytes after the last newline as the final element: empty unless torn.
            record = _decode_line(line) if index < len(body) - 1 else None
            if record is None:
                if any(_decode_line(later) is not None for later in body[index + 1:]):
                    raise CheckpointError(f"journal {self.path} is damaged at line {index + 2}")
                break
            records.append(record)
        return records

    def restart(self, generation: int) -> None:
        """Durably replaces the journal with an empty one that follows checkpoint ``generation``."""
        self._size = None
        header = _encode_line({"generation": generation, "journal": _JOURNAL_FORMAT})
        tmp = self.temp_path
        _write_replacing(self.ops, tmp, self.path, header, what="journal")
        try:
            self.ops.fsync_dir(self.path.parent)
        except OSError as e:
            raise CheckpointError(f"cannot sync directory of {self.path}: {e}") from e
        self._size, self._records = len(header), 0

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Durably appends ``records`` in order; on failure cuts the file back (best effort) and stops appending."""
        size = self._size
        if size is None:
            raise CheckpointError(f"journal {self.path} must be restarted before appending")
        data = b"".join(_encode_line(r) for r in records)
        fd = -1
        try:
            fd = self.ops.open_append(self.path)
            self.ops.write(fd, data)
            self.ops.fdatasync(fd)
        except OSError as e:
            self._size = None
            if fd >= 0:
                try:
                    self.ops.truncate(fd, size)
                except OSError:
                    pass  # NB: the reader drops a torn tail; whole lines of a failed batch wait for the next restart
            raise CheckpointError(f"cannot append to journal {self.path}: {e}") from e
        finally:
            if fd >= 0:
                try:
                    self.ops.close(fd)
                except OSError:
                    pass
        self._size, self._records = size + len(data), self._records + len(records)


def _encode_line(record: Mapping[str, Any]) -> bytes:
    payload = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _decode_line(line: bytes) -> dict[str, Any] | None:
    """The record of one journal line, or None when the line is damaged or incomplete."""
    checksum, _, payload = line.partition(b" ")
    if len(checksum) != 8:
        return None
    try:
        if int(checksum, 16) != zlib.crc32(payload):
            return None
        record = json.loads(payload)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _write_replacing(ops: FileOps, tmp: Path, path: Path, data: bytes, *, what: str) -> None:
    """Writes ``data`` to ``tmp``, fsyncs it and renames it over ``path``; on failure ``tmp`` is removed."""
    fd = -1
    try:
        fd = ops.create(tmp)
        ops.write(fd, data)
        ops.fsync(fd)
        ops.close(fd)
        fd = -1
        ops.rename(tmp, path)
    except BaseException as e:
        _discard(ops, fd, tmp)
        if isinstance(e, OSError):
            raise CheckpointError(f"cannot write {what} {path}: {e}") from e
        raise


def _discard(ops: FileOps, fd: int, tmp: Path) -> None:
    if fd >= 0:
        try:
            ops.close(fd)
        except OSError:
            pass
    try:
        ops.unlink(tmp)
    except OSError:
        pass
