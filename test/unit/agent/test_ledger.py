"""Ledger: durable-before-return, same IP on retry, cooldown, the Releasing handshake, rollback on save failure."""

import shutil
from ipaddress import IPv4Address as A

import pytest

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
    assert store.saves == 1
    reopened = Ledger(store, clock=clock)
    assert reopened.get(key(1)) == alloc
    assert alloc.eni_id == "eni-a" and alloc.ip == A("10.0.1.20") and alloc.allocated_at == clock.now


def test_assign_for_a_key_with_an_ip_returns_the_same_ip_without_saving(store, clock, pool):
    ledger = Ledger(store, clock=clock)
    first = ledger.assign(key(1), POD, pool)
    again = ledger.assign(key(1), PodRef("other", "name"), pool)
    assert again == first and store.saves == 1


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
    assert store.saves == 0


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
    that instant would leave on disk."""

    def __init__(self, state_dir, snapshots):
        self.state_dir = state_dir
        self.snapshots = snapshots
        self.count = 0

    def _snap(self):
        self.count += 1
        shutil.copytree(self.state_dir, self.snapshots / f"{self.count:03d}")

    def create(self, path):
        self._snap()
        return super().create(path)

    def write(self, fd, data):
        self._snap()
        super().write(fd, data)

    def fsync(self, fd):
        self._snap()
        super().fsync(fd)

    def close(self, fd):
        self._snap()
        super().close(fd)

    def rename(self, src, dst):
        self._snap()
        super().rename(src, dst)

    def fsync_dir(self, path):
        self._snap()
        super().fsync_dir(path)


def test_a_kill_at_any_step_of_a_save_loses_nothing_returned_and_duplicates_nothing(tmp_path, clock, pool):
    state = tmp_path / "state"
    state.mkdir()
    snapshots = tmp_path / "snaps"
    snapshots.mkdir()
    ledger = Ledger(JsonFileCheckpointer(path=state / "ledger.json", ops=SnapshottingOps(state, snapshots)),
                    clock=clock)
    returned = {}
    for i in range(3):
        returned[key(i)] = ledger.assign(key(i), POD, pool).ip
    ledger.release(key(1))
    seen_states = 0
    for n, snap in enumerate(sorted(snapshots.iterdir())):
        reopened = Ledger(JsonFileCheckpointer.at(snap / "ledger.json"), clock=clock)
        held = {a.key: a.ip for a in reopened.allocations()}
        assert len(set(held.values())) == len(held), "one IP held by two attachments"
        for k, ip in held.items():
            assert returned[k] == ip
        # every assign that returned before this instant is on disk (saves 1-3 assign, save 4 releases key 1);
        # allocations skip the directory fsync (see Ledger), so a save is five steps
        completed_saves = n // 5
        for i in range(min(completed_saves, 3)):
            if i != 1 or completed_saves < 3:  # during save 4 the release of key 1 may be on disk
                assert held.get(key(i)) == returned[key(i)], f"returned allocation {i} lost at step {n}"
        # the runtime's retried ADD after the crash: same IP if recorded, else a fresh one not held by another
        for i in range(4):
            again = reopened.assign(key(i), POD, pool).ip
            assert again == held.get(key(i), again)
        final = [a.ip for a in reopened.allocations()]
        assert len(set(final)) == len(final)
        seen_states += 1
    assert seen_states == 5 * 4  # four saves (three assigns and a release), five steps each


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


def test_only_promises_pay_for_a_directory_sync(store, clock, status_of):
    pool = parse_pool(status_of.two_enis(2, 0))
    ledger = Ledger(store, clock=clock, cooldown=0)
    ledger.assign(key(1), POD, pool)
    ledger.release(key(1))
    assert store.saves == 2 and store.directory_syncs == 0
    releasing = status_of.two_enis(2, 0)
    releasing["enis"][0]["ips"][0]["state"] = "Releasing"
    assert ledger.promise_release(parse_pool(releasing))
    assert store.saves == 3 and store.directory_syncs == 1
