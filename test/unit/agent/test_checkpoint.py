"""JsonFileCheckpointer: atomic replace, clean failure at every step, and a crash between any two syscalls;
its AppendJournal: records of one generation, torn tails dropped, damage refused."""

import json
import shutil
from pathlib import Path

import pytest

from eni.agent.checkpoint import AppendJournal, CheckpointError, JsonFileCheckpointer, OsFileOps

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


def journal_at(tmp_path, generation=1, ops=None):
    journal = JsonFileCheckpointer(path=tmp_path / "c.json", ops=ops or OsFileOps()).journal()
    journal.restart(generation)
    return journal


def test_journal_records_follow_their_generation_in_order(tmp_path):
    journal = journal_at(tmp_path, generation=3)
    journal.append([{"n": 1}, {"n": 2}])
    journal.append([{"n": "ñ"}])
    assert journal.records == 3 and journal.path == tmp_path / "c.json.journal"
    assert journal.path.stat().st_mode & 0o777 == 0o600
    reader = JsonFileCheckpointer.at(tmp_path / "c.json").journal()
    assert reader.read(3) == [{"n": 1}, {"n": 2}, {"n": "ñ"}]
    assert reader.read(4) == []  # a journal of an older checkpoint: already folded into the newer one
    with pytest.raises(CheckpointError, match="newer"):
        reader.read(2)
    assert JsonFileCheckpointer.at(tmp_path / "other.json").journal().read(0) == []


def test_restart_empties_the_journal_under_a_new_generation(tmp_path):
    journal = journal_at(tmp_path, generation=1)
    journal.append([{"n": 1}])
    journal.restart(2)
    assert journal.records == 0 and journal.read(2) == [] and journal.read(3) == []
    journal.append([{"n": 2}])
    assert journal.read(2) == [{"n": 2}]


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_a_torn_last_line_is_dropped(tmp_path, cut):
    journal = journal_at(tmp_path)
    journal.append([{"n": 1}])
    journal.append([{"n": 2, "pad": "x" * 30}])
    journal.path.write_bytes(journal.path.read_bytes()[:-cut])
    assert journal.read(1) == [{"n": 1}]


def test_a_damaged_last_line_is_dropped_but_damage_before_intact_lines_is_refused(tmp_path):
    journal = journal_at(tmp_path)
    journal.append([{"n": 1}, {"n": 2}, {"n": 3}])
    lines = journal.path.read_bytes().split(b"\n")
    flipped = lines[3].replace(b'"n":3', b'"n":4')
    journal.path.write_bytes(b"\n".join(lines[:3] + [flipped, b""]))
    assert journal.read(1) == [{"n": 1}, {"n": 2}]
    journal.path.write_bytes(b"\n".join(lines[:2] + [lines[2].replace(b'"n":2', b'"n":5')] + lines[3:]))
    with pytest.raises(CheckpointError, match="damaged at line 3"):
        journal.read(1)


@pytest.mark.parametrize("content", [b"", b"garbage\n", b'00000000 {"journal":1}\n'])
def test_a_journal_without_a_valid_header_is_an_error(tmp_path, content):
    (tmp_path / "c.json.journal").write_bytes(content)
    with pytest.raises(CheckpointError, match="header"):
        JsonFileCheckpointer.at(tmp_path / "c.json").journal().read(0)


def test_appends_wait_for_a_restart(tmp_path):
    journal = JsonFileCheckpointer.at(tmp_path / "c.json").journal()
    with pytest.raises(CheckpointError, match="restarted"):
        journal.append([{"n": 1}])


class FailingSyncOps(OsFileOps):
    def __init__(self):
        self.fail = False

    def fdatasync(self, fd):
        if self.fail:
            raise OSError(5, "injected failure in fdatasync")
        super().fdatasync(fd)


def test_a_failed_append_cuts_its_bytes_off_and_stops_appends_until_a_restart(tmp_path):
    ops = FailingSyncOps()
    journal = journal_at(tmp_path, ops=ops)
    journal.append([{"n": 1}])
    size = journal.path.stat().st_size
    ops.fail = True
    with pytest.raises(CheckpointError, match="fdatasync"):
        journal.append([{"n": 2}])
    assert journal.path.stat().st_size == size and journal.read(1) == [{"n": 1}]
    ops.fail = False
    with pytest.raises(CheckpointError, match="restarted"):
        journal.append([{"n": 3}])
    journal.restart(2)
    journal.append([{"n": 3}])
    assert journal.read(2) == [{"n": 3}]


@pytest.mark.parametrize("step", STEPS[:5])
def test_a_failed_restart_keeps_the_previous_journal_and_removes_the_temp_file(tmp_path, step):
    journal_at(tmp_path).append([{"n": 1}])
    failing = AppendJournal(tmp_path / "c.json.journal", FaultyOps(fail_at=step))
    with pytest.raises(CheckpointError, match=step):
        failing.restart(2)
    assert failing.read(1) == [{"n": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json.journal"]
    with pytest.raises(CheckpointError, match="restarted"):
        failing.append([{"n": 2}])


def test_reading_removes_a_temp_journal_left_by_a_crash(tmp_path):
    journal = journal_at(tmp_path)
    journal.temp_path.write_bytes(b"half a header")
    assert journal.read(1) == [] and not journal.temp_path.exists()
