"""Ledger: durable-before-return, same IP on retry, cooldown, the Releasing handshake, rollback on save failure,
changes journaled (and compacted) at a cost that does not grow with the ledger."""

import json
import shutil
from ipaddress import IPv4Address as A

import pytest

from eni.agent import ledger as ledger_module
from eni.agent.checkpoint import JsonFileCheckpointer, OsFileOps
from eni.agent.errors import LedgerError, PoolExhaustedError
from eni.agent.ledger import AttachmentKey, Ledger, PodRef
from eni.agent.pool import parse_pool


def key(n):
    return AttachmentKey(network_name="tke-eni", container_id=f"c{n}", ifname="eth0")


POD = PodRef(namespace="default", name="web")


@pytest.fixture
def pool(status_of):
    return parse_pool(status_of.two_enis(3, 3))


def test_assign_is_durable_before_it_returns(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    alloc = ledger.assign(key(1), POD, pool)
    assert store.writes == 1
    reopened = Ledger(store, clock=clock)
    assert reopened.get(key(1)) == alloc
    assert alloc.eni_id == "eni-a" and alloc.ip == A("10.0.1.20") and alloc.allocated_at == clock.now


def test_assign_for_a_key_with_an_ip_returns_the_same_ip_without_saving(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    first = ledger.assign(key(1), POD, pool)
    again = ledger.assign(key(1), PodRef("other", "name"), pool)
    assert again == first and store.writes == 1


def test_ips_are_packed_onto_the_busiest_eni_and_never_shared(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    ips = [ledger.assign(key(i), POD, pool).ip for i in range(6)]
    assert len(set(ips)) == 6
    assert [str(ip) for ip in ips[:3]] == ["10.0.1.20", "10.0.1.21", "10.0.1.22"]
    with pytest.raises(PoolExhaustedError, match="no IP free yet: 6 in use"):
        ledger.assign(key(99), POD, pool)


def test_released_ip_waits_out_the_cooldown(store, clock, status_of):
    pool = parse_pool(status_of.two_enis(1, 0))
    ledger = Ledger(store, clock=clock, cooldown=30)
    ip = ledger.assign(key(1), POD, pool).ip
    assert ledger.release(key(1)).ip == ip
    assert ledger.cooling() == {ip}
    clock.step(29.9)
    with pytest.raises(PoolExhaustedError, match="cooling down"):
        ledger.assign(key(2), POD, pool)
    clock.step(0.2)
    assert ledger.assign(key(2), POD, pool).ip == ip


def test_cooldown_survives_a_restart(store, clock, status_of):
    pool = parse_pool(status_of.two_enis(1, 0))
    ledger = Ledger(store, clock=clock, cooldown=30)
    ledger.assign(key(1), POD, pool)
    ledger.release(key(1))
    clock.step(10)
    with pytest.raises(PoolExhaustedError):
        Ledger(store, clock=clock, cooldown=30).assign(key(2), POD, pool)


def test_release_of_an_unknown_key_is_a_no_op(store, clock):
    ledger = Ledger(store, clock=clock)
    assert ledger.release(key(1)) is None
    assert store.writes == 0


@pytest.mark.parametrize("method", ["assign", "release"])
def test_a_failed_save_changes_nothing(store, clock, pool, method):
    ledger = Ledger(store, clock=clock)
    ledger.assign(key(1), POD, pool)
    store.fail = OSError(28, "disk full")
    with pytest.raises(LedgerError, match="disk full"):
        if method == "assign":
            ledger.assign(key(2), POD, pool)
        else:
            ledger.release(key(1))
    assert [a.key for a in ledger.allocations()] == [key(1)]
    assert ledger.cooling() == set()
    store.fail = None
    assert Ledger(store, clock=clock).allocations() == ledger.allocations()


def test_releasing_ips_are_never_handed_out_and_free_ones_are_promised(store, clock, status_of):
    status = status_of.two_enis(3, 0)
    ledger = Ledger(store, clock=clock, cooldown=30)
    ledger.assign(key(1), POD, parse_pool(status))                    # 10.0.1.20 in use
    ledger.assign(key(2), POD, parse_pool(status))                    # 10.0.1.21
    ledger.release(key(2))                                            # 10.0.1.21 cooling
    for entry in status["enis"][0]["ips"]:
        entry["state"] = "Releasing"
    pool = parse_pool(status)
    assert ledger.promise_release(pool) == {A("10.0.1.22")}           # in use and cooling are not promised
    with pytest.raises(PoolExhaustedError):
        ledger.assign(key(3), POD, pool)
    clock.step(31)
    assert ledger.promise_release(pool) == {A("10.0.1.21"), A("10.0.1.22")}
    assert Ledger(store, clock=clock).promised() == {A("10.0.1.21"), A("10.0.1.22")}


def test_a_promised_ip_is_not_reused_even_if_a_stale_view_says_bound_until_it_leaves(store, clock, status_of):
    status = status_of.two_enis(1, 0)
    status["enis"][0]["ips"][0]["state"] = "Releasing"
    ledger = Ledger(store, clock=clock)
    assert ledger.promise_release(parse_pool(status)) == {A("10.0.1.20")}
    status["enis"][0]["ips"][0]["state"] = "Bound"
    # the promise holds while assigning from any view...
    with pytest.raises(PoolExhaustedError):
        ledger.assign(key(1), POD, parse_pool(status))
    # ...until a newer status is published through promise_release: ipamd kept the IP
    assert ledger.promise_release(parse_pool(status)) == frozenset()
    assert ledger.assign(key(1), POD, parse_pool(status)).ip == A("10.0.1.20")


def test_promise_ends_when_the_ip_leaves_the_pool(store, clock, status_of):
    status = status_of.two_enis(1, 0)
    status["enis"][0]["ips"][0]["state"] = "Releasing"
    ledger = Ledger(store, clock=clock)
    ledger.promise_release(parse_pool(status))
    status["enis"][0]["ips"] = []
    assert ledger.promise_release(parse_pool(status)) == frozenset()


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"version": 9}, "format version"),
        ({"version": 1, "allocations": [{"network": "n"}]}, "corrupt"),
        ({"version": 1, "allocations": [
            {"network": "n", "containerId": "a", "ifname": "eth0", "ip": "10.0.1.20", "allocatedAt": 1},
            {"network": "n", "containerId": "b", "ifname": "eth0", "ip": "10.0.1.20", "allocatedAt": 1},
        ]}, "two attachments"),
    ],
)
def test_a_bad_checkpoint_refuses_to_start(doc, message, clock, store):
    store.doc = doc
    with pytest.raises(LedgerError, match=message):
        Ledger(store, clock=clock)


def test_real_file_round_trip(tmp_path, clock, pool):
    cp = JsonFileCheckpointer.at(tmp_path / "ledger.json")
    first = Ledger(cp, clock=clock).assign(key(1), POD, pool)
    assert Ledger(JsonFileCheckpointer.at(tmp_path / "ledger.json"), clock=clock).get(key(1)) == first


class SnapshottingOps(OsFileOps):
    """Real file operations that copy the state directory before each one: every copy is what a kill -9 at
    that instant would leave on disk. Each copy is noted with what the test had been answered by then."""

    def __init__(self, state_dir, snapshots, answered):
        self.state_dir = state_dir
        self.snapshots = snapshots
        self.answered = answered
        self.taken = []  # (copy, what had been answered when it was taken)
        self.calls = []

    def snap(self, name="end"):
        self.calls.append(name)
        dest = self.snapshots / f"{len(self.taken):03d}-{name}"
        shutil.copytree(self.state_dir, dest)
        self.taken.append((dest, dict(self.answered)))


def _snapshotting(name):
    def op(self, *args):
        self.snap(name)
        return getattr(OsFileOps, name)(self, *args)

    return op


for _name in ("create", "write", "fsync", "close", "rename", "fsync_dir", "open_append", "fdatasync", "truncate"):
    setattr(SnapshottingOps, _name, _snapshotting(_name))


KILL_SCRIPT = [("assign", 0), ("assign", 1), ("assign", 2), ("release", 1), ("assign", 3), ("release", 0),
               ("assign", 4), ("release", 3), ("assign", 5)]


@pytest.mark.parametrize("min_records", [ledger_module.MIN_JOURNAL_RECORDS, 0], ids=["appends", "compactions"])
def test_a_kill_at_any_step_of_a_write_loses_nothing_answered_and_duplicates_nothing(
        tmp_path, clock, status_of, monkeypatch, min_records):
    monkeypatch.setattr(ledger_module, "MIN_JOURNAL_RECORDS", min_records)
    pool = parse_pool(status_of.two_enis(8, 8))
    state = tmp_path / "state"
    state.mkdir()
    snapshots = tmp_path / "snaps"
    snapshots.mkdir()
    answered = {}  # key -> the IP it may hold after a crash at that instant (a tuple: any of them)
    ops = SnapshottingOps(state, snapshots, answered)
    ledger = Ledger(JsonFileCheckpointer(path=state / "ledger.json", ops=ops), clock=clock)
    got = {}
    for verb, n in KILL_SCRIPT:
        if verb == "assign":
            got[key(n)] = answered[key(n)] = ledger.assign(key(n), POD, pool).ip
        else:
            answered[key(n)] = (got[key(n)], None)  # while the release is being written, either state is fine
            ledger.release(key(n))
            answered[key(n)] = None
    ops.snap()
    if min_records:  # the first change writes a checkpoint and starts its journal; the others are one append each
        assert ops.calls.count("rename") == 2 and ops.calls.count("fdatasync") == len(KILL_SCRIPT) - 1
        assert len(ops.taken) == 12 + 4 * (len(KILL_SCRIPT) - 1) + 1
    else:  # the journal was folded into a new checkpoint on the way, over a journal of the older one
        assert ops.calls.count("rename") >= 4 and ops.calls.count("fdatasync") > 0
    for snap, then in ops.taken:
        reopened = Ledger(JsonFileCheckpointer.at(snap / "ledger.json"), clock=clock)
        held = {a.key: a.ip for a in reopened.allocations()}
        assert len(set(held.values())) == len(held), f"one IP held by two attachments in {snap.name}"
        for k, ip in held.items():
            assert got[k] == ip
        for k, ip in then.items():
            allowed = ip if isinstance(ip, tuple) else (ip,)
            assert held.get(k) in allowed, f"{k.container_id}: answered {ip}, but {snap.name} holds {held.get(k)}"
        # the runtime's retried ADD after the crash: same IP if recorded, else a fresh one not held by another
        for i in range(len(got) + 1):
            again = reopened.assign(key(i), POD, pool).ip
            assert again == held.get(key(i), again)
        final = [a.ip for a in Ledger(JsonFileCheckpointer.at(snap / "ledger.json"), clock=clock).allocations()]
        assert len(set(final)) == len(final) == len(got) + 1


class GatedCheckpointer:
    """Saves block until the test opens the gate, so that concurrent changes pile up behind one save."""

    def __init__(self, store):
        import threading

        self.store, self.gate, self.entered = store, threading.Event(), threading.Event()

    def load(self):
        return self.store.load()

    def save(self, doc, *, sync_directory=True):
        self.entered.set()
        assert self.gate.wait(10)
        self.store.save(doc, sync_directory=sync_directory)


def test_concurrent_assigns_share_saves_and_each_returns_only_once_durable(store, clock, status_of):
    import threading

    pool = parse_pool(status_of.two_enis(8, 8))
    gated = GatedCheckpointer(store)
    ledger = Ledger(gated, clock=clock)
    results = {}

    def assign(n):
        results[n] = ledger.assign(key(n), POD, pool)

    first = threading.Thread(target=assign, args=(0,))
    first.start()
    assert gated.entered.wait(10)  # the first save is in flight; the next callers queue behind it
    others = [threading.Thread(target=assign, args=(n,)) for n in range(1, 10)]
    for thread in others:
        thread.start()
    assert not results  # nobody returns before its record is durable
    gated.gate.set()
    for thread in [first, *others]:
        thread.join(10)
    assert len(results) == 10 and len({a.ip for a in results.values()}) == 10
    assert store.saves < 10  # shared: the queued changes went out together
    reopened = Ledger(store, clock=clock)
    assert {reopened.get(key(n)) for n in range(10)} == set(results.values())


def test_a_failed_group_save_undoes_only_the_callers_that_were_not_saved(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    kept = ledger.assign(key(1), POD, pool)
    store.fail = OSError("disk full")
    with pytest.raises(LedgerError):
        ledger.assign(key(2), POD, pool)
    with pytest.raises(LedgerError):
        ledger.release(key(1))
    store.fail = None
    assert ledger.allocations() == [kept] and ledger.get(key(2)) is None
    assert Ledger(store, clock=clock).allocations() == [kept]
    assert ledger.assign(key(3), POD, pool).ip != kept.ip


def test_without_a_journal_each_change_saves_the_document_and_only_promises_sync_the_directory(
        plain_store, clock, status_of):
    store = plain_store
    pool = parse_pool(status_of.two_enis(2, 0))
    ledger = Ledger(store, clock=clock, cooldown=0)
    ledger.assign(key(1), POD, pool)
    ledger.release(key(1))
    assert store.saves == 2 and store.directory_syncs == 0
    releasing = status_of.two_enis(2, 0)
    releasing["enis"][0]["ips"][0]["state"] = "Releasing"
    assert ledger.promise_release(parse_pool(releasing))
    assert store.saves == 3 and store.directory_syncs == 1
    assert Ledger(store, clock=clock).promised() == {A("10.0.1.20")}


def test_changes_after_the_first_are_appended_to_the_journal_not_rewritten(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    for i in range(3):
        ledger.assign(key(i), POD, pool)
    ledger.release(key(1))
    assert (store.saves, store.appends) == (1, 3)
    assert [r["op"] for r in store.lines] == ["assign", "assign", "release"]
    reopened = store.reopened(clock=clock)
    assert reopened.allocations() == ledger.allocations() and reopened.cooling() == ledger.cooling()


def test_the_journal_is_folded_into_a_new_checkpoint_once_it_outgrows_the_ledger(store, clock, pool, monkeypatch):
    monkeypatch.setattr(ledger_module, "MIN_JOURNAL_RECORDS", 4)
    ledger = Ledger(store, clock=clock, cooldown=0)
    for round_ in range(20):
        ledger.assign(key(round_ % 3), POD, pool)
        if round_ % 2:
            ledger.release(key(round_ % 3))
        assert len(store.lines) <= max(4, len(ledger.allocations()) + len(ledger.cooling())) + 1
    assert store.saves == store.restarts > 2
    assert store.doc["generation"] == store.journal_generation
    assert store.reopened(clock=clock).allocations() == ledger.allocations()


def test_a_failed_append_makes_the_next_change_write_a_checkpoint_of_a_new_generation(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    kept = ledger.assign(key(1), POD, pool)
    generation = store.journal_generation
    store.fail = OSError(5, "I/O error")
    with pytest.raises(LedgerError, match="I/O error"):
        ledger.assign(key(2), POD, pool)
    store.fail = None
    third = ledger.assign(key(3), POD, pool)
    assert store.saves == 2 and store.journal_generation == generation + 1
    assert store.reopened(clock=clock).allocations() == [kept, third]


class TornAppendOps(OsFileOps):
    """The second journal append writes its line but fails to sync and to cut the file back: the line stays."""

    def __init__(self):
        self.appends = 0

    def fdatasync(self, fd):
        self.appends += 1
        if self.appends == 2:
            raise OSError(5, "I/O error")
        super().fdatasync(fd)

    def truncate(self, fd, size):
        raise OSError(5, "I/O error")


def test_an_undone_change_left_in_the_journal_is_disowned_by_the_next_checkpoint(tmp_path, clock, status_of):
    pool = parse_pool(status_of.two_enis(2, 0))
    path = tmp_path / "ledger.json"
    ledger = Ledger(JsonFileCheckpointer(path=path, ops=TornAppendOps()), clock=clock, cooldown=0)
    first = ledger.assign(key(1), POD, pool)
    ledger.release(key(1))
    with pytest.raises(LedgerError):
        ledger.assign(key(2), POD, pool)  # its record reached the file; the caller was told it failed
    # an agent killed now may find the undone allocation (a leak for GC), never an IP given twice
    assert {a.key for a in Ledger(JsonFileCheckpointer.at(path), clock=clock).allocations()} <= {key(2)}
    again = ledger.assign(key(3), POD, pool)
    assert again.ip == first.ip  # the IP that the failed change had taken went to another attachment
    assert Ledger(JsonFileCheckpointer.at(path), clock=clock).allocations() == [again]


def test_a_change_costs_the_same_write_however_many_allocations_there_are(tmp_path, clock, status_of):
    class CountingOps(OsFileOps):
        def __init__(self):
            self.appended = []
            self.checkpoint_bytes = 0
            self.appending = False

        def open_append(self, path):
            self.appending = True
            return super().open_append(path)

        def write(self, fd, data):
            if self.appending:
                self.appended.append(len(data))
            else:
                self.checkpoint_bytes += len(data)
            self.appending = False
            super().write(fd, data)

    pool = parse_pool(status_of.two_enis(200, 0))
    ops = CountingOps()
    ledger = Ledger(JsonFileCheckpointer(path=tmp_path / "ledger.json", ops=ops), clock=clock)
    for i in range(1, 200):
        ledger.assign(key(i), POD, pool)
    first_checkpoint = ops.checkpoint_bytes
    assert len(ops.appended) == 198 and max(ops.appended) - min(ops.appended) <= 4  # only the digits differ
    assert max(ops.appended) < 400
    assert first_checkpoint < 1000  # the only whole checkpoint: the first change's, over an empty ledger
    assert len(Ledger(JsonFileCheckpointer.at(tmp_path / "ledger.json"), clock=clock).allocations()) == 199


def test_a_torn_journal_tail_is_dropped_and_the_next_change_starts_a_clean_journal(tmp_path, clock, pool):
    path = tmp_path / "ledger.json"
    ledger = Ledger(JsonFileCheckpointer.at(path), clock=clock)
    kept = [ledger.assign(key(i), POD, pool) for i in range(3)]
    journal = tmp_path / "ledger.json.journal"
    journal.write_bytes(journal.read_bytes()[:-7])  # the last append was cut short: its caller never heard back
    reopened = Ledger(JsonFileCheckpointer.at(path), clock=clock)
    assert reopened.allocations() == kept[:2]
    fresh = reopened.assign(key(3), POD, pool)
    assert fresh.ip == kept[2].ip  # the torn record's IP was never answered, so it is free
    reopened.assign(key(4), POD, pool)
    assert [a.key for a in Ledger(JsonFileCheckpointer.at(path), clock=clock).allocations()] == [
        key(0), key(1), key(3), key(4)]


def test_a_version_1_checkpoint_is_read_and_its_successor_is_version_2(tmp_path, clock, pool):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 1, "allocations": [
        {"network": "tke-eni", "containerId": "c1", "ifname": "eth0", "ip": "10.0.1.20", "allocatedAt": 1}],
        "releasedAt": {}, "promised": []}))
    ledger = Ledger(JsonFileCheckpointer.at(path), clock=clock)
    assert ledger.get(key(1)).ip == A("10.0.1.20")
    assert ledger.assign(key(2), POD, pool).ip == A("10.0.1.21")
    assert json.loads(path.read_text())["version"] == 2
    assert [a.key for a in Ledger(JsonFileCheckpointer.at(path), clock=clock).allocations()] == [key(1), key(2)]


@pytest.mark.parametrize("record, message", [
    ({"op": "shrug"}, "unknown journal record"),
    ({"op": "assign", "network": "n"}, "corrupt"),
    ({"op": "assign", "network": "tke-eni", "containerId": "x", "ifname": "eth0", "ip": "10.0.1.20",
      "allocatedAt": 2}, "second attachment"),
])
def test_a_journal_record_that_makes_no_sense_refuses_to_start(store, clock, pool, record, message):
    Ledger(store, clock=clock).assign(key(1), POD, pool)  # 10.0.1.20
    store.lines.append(record)
    with pytest.raises(LedgerError, match=message):
        store.reopened(clock=clock)


def test_a_journal_newer_than_its_checkpoint_refuses_to_start(tmp_path, clock, pool):
    path = tmp_path / "ledger.json"
    Ledger(JsonFileCheckpointer.at(path), clock=clock).assign(key(1), POD, pool)
    JsonFileCheckpointer.at(path).journal().restart(99)  # the checkpoint it followed was lost
    with pytest.raises(LedgerError, match="corrupt ledger journal.*newer"):
        Ledger(JsonFileCheckpointer.at(path), clock=clock)
