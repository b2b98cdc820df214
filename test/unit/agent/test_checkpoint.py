"""JsonFileCheckpointer: atomic replace, clean failure at every step, and a crash between any two syscalls."""

import json
import shutil
from pathlib import Path

import pytest

from eni.agent.checkpoint import CheckpointError, JsonFileCheckpointer, OsFileOps

STEPS = ["create", "write", "fsync", "close", "rename", "fsync_dir"]


class FaultyOps(OsFileOps):
    """Real file operations, except that a chosen step fails or has the directory snapshotted before it runs."""

    def __init__(self, *, fail_at=None, snapshot_dir=None, snapshot_to=None):
        self.fail_at = fail_at
        self.snapshot_dir = snapshot_dir
        self.snapshot_to = snapshot_to
        self.calls = []

    def _step(self, name):
        self.calls.append(name)
        if self.snapshot_to is not None:
            dest = self.snapshot_to / f"{len(self.calls):02d}-before-{name}"
            shutil.copytree(self.snapshot_dir, dest)
        if name == self.fail_at:
            raise OSError(28, f"injected failure in {name}")

    def create(self, path):
        self._step("create")
        return super().create(path)

    def write(self, fd, data):
        self._step("write")
        super().write(fd, data)

    def fsync(self, fd):
        self._step("fsync")
        super().fsync(fd)

    def close(self, fd):
        self._step("close")
        super().close(fd)

    def rename(self, src, dst):
        self._step("rename")
        super().rename(src, dst)

    def fsync_dir(self, path):
        self._step("fsync_dir")
        super().fsync_dir(path)


def test_round_trip_and_nothing_saved_yet(tmp_path):
    cp = JsonFileCheckpointer.at(tmp_path / "state" / "ledger.json")
    assert cp.load() is None
    cp.save({"a": [1, 2]})
    assert cp.load() == {"a": [1, 2]}
    assert (tmp_path / "state" / "ledger.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["ledger.json"]


def test_save_runs_the_durable_sequence_in_order(tmp_path):
    ops = FaultyOps()
    JsonFileCheckpointer(path=tmp_path / "c.json", ops=ops).save({"v": 1})
    assert ops.calls == STEPS


@pytest.mark.parametrize("step", STEPS[:5])
def test_a_failed_step_keeps_the_previous_document_and_removes_the_temp_file(tmp_path, step):
    path = tmp_path / "c.json"
    JsonFileCheckpointer.at(path).save({"v": "old"})
    failing = JsonFileCheckpointer(path=path, ops=FaultyOps(fail_at=step))
    with pytest.raises(CheckpointError, match=step):
        failing.save({"v": "new"})
    assert json.loads(path.read_text()) == {"v": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_a_failed_directory_sync_is_reported_after_the_new_document_is_visible(tmp_path):
    path = tmp_path / "c.json"
    JsonFileCheckpointer.at(path).save({"v": "old"})
    with pytest.raises(CheckpointError, match="sync directory"):
        JsonFileCheckpointer(path=path, ops=FaultyOps(fail_at="fsync_dir")).save({"v": "new"})
    assert JsonFileCheckpointer.at(path).load() == {"v": "new"}


def test_a_crash_before_any_step_leaves_the_old_or_the_new_document(tmp_path):
    state = tmp_path / "state"
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    JsonFileCheckpointer.at(state / "c.json").save({"v": "old"})
    ops = FaultyOps(snapshot_dir=state, snapshot_to=snaps)
    JsonFileCheckpointer(path=state / "c.json", ops=ops).save({"v": "new"})
    seen = []
    for snap in sorted(snaps.iterdir()):
        restored = JsonFileCheckpointer.at(snap / "c.json")
        seen.append(restored.load()["v"])
        assert not restored.temp_path.exists(), "load must clean a temp file left by a crash"
    assert len(seen) == len(STEPS)
    assert seen[:5] == ["old"] * 5 and seen[5] == "new"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b""])
def test_a_corrupt_checkpoint_is_an_error_not_an_empty_ledger(tmp_path, content):
    path = tmp_path / "c.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        JsonFileCheckpointer.at(path).load()


def test_unicode_and_nested_values_survive(tmp_path):
    cp = JsonFileCheckpointer.at(Path(tmp_path) / "c.json")
    doc = {"pod": "ns/ñame", "nested": {"x": [1.5, None, True]}}
    cp.save(doc)
    assert cp.load() == doc
