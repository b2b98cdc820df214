"""DirectLedger: one ENI per attachment, durable before it is returned, the same ENI on retry, promises kept."""

import pytest

from eni.agent.directledger import DirectLedger
from eni.agent.directpool import choose_direct_eni, parse_direct_pool
from eni.agent.errors import LedgerError, PoolExhaustedError
from eni.agent.ledger import AttachmentKey
from eni.agent.pool import PodRef

KEY = AttachmentKey("tke-eni", "c1", "eth0")
POD = PodRef("default", "web", "uid-1")


def mac(n):
    return f"02:00:00:00:0d:{n:02x}"


def direct(eni_id, n, *, state="Bound", pod=None):
    """An exclusive ENI as ipamd lists it: MAC 02:00:00:00:0d:<n>, primary IP 10.0.5.<n> in 10.0.5.0/24."""
    raw = {"eniId": eni_id, "mac": mac(n), "primaryIP": f"10.0.5.{n}", "subnetCIDR": "10.0.5.0/24",
           "gateway": "10.0.5.1", "type": "direct", "state": state}
    if pod is not None:
        raw["pod"] = pod
    return raw


def pool_of(*enis):
    return parse_direct_pool({"enis": list(enis)})


def chooser(pool, present):
    def choose(in_use, promised):
        eni = choose_direct_eni(pool, pod=POD, static=False, in_use=in_use, unavailable=promised, present=present)
        if eni is None:
            raise PoolExhaustedError("none free")
        return eni, f"eth{eni.eni_id[-1]}"
    return choose


def test_assign_is_durable_and_a_retry_gets_the_same_eni(store, clock):
    ledger = DirectLedger(store, clock=clock)
    pool = pool_of(direct("eni-d1", 7), direct("eni-d2", 8))
    alloc, new = ledger.assign(KEY, POD, netns="/run/netns/p1", choose=chooser(pool, {mac(7), mac(8)}))
    assert new and alloc.eni_id == "eni-d1" and alloc.link_name == "eth1" and str(alloc.address) == "10.0.5.7/24"
    assert store.saves == 1 and store.doc["allocations"][0]["eniId"] == "eni-d1"
    again, new = ledger.assign(KEY, POD, netns="/run/netns/p1", choose=chooser(pool, set()))
    assert again == alloc and not new and store.saves == 1
    restored = DirectLedger(store, clock=clock)
    assert restored.get(KEY) == alloc and restored.in_use() == {"eni-d1"}


def test_two_attachments_never_share_an_eni_and_exhaustion_changes_nothing(store):
    ledger = DirectLedger(store)
    pool = pool_of(direct("eni-d1", 7))
    ledger.assign(KEY, POD, netns="/p", choose=chooser(pool, {mac(7)}))
    with pytest.raises(PoolExhaustedError):
        ledger.assign(AttachmentKey("tke-eni", "c2", "eth0"), POD, netns="/p", choose=chooser(pool, {mac(7)}))
    assert store.saves == 1 and len(ledger.allocations()) == 1


def test_a_failed_save_keeps_nothing(store):
    ledger = DirectLedger(store)
    store.fail = OSError("disk full")
    with pytest.raises(LedgerError):
        ledger.assign(KEY, POD, netns="/p", choose=chooser(pool_of(direct("eni-d1", 7)), {mac(7)}))
    assert ledger.get(KEY) is None and ledger.in_use() == frozenset()
    store.fail = None
    ledger.assign(KEY, POD, netns="/p", choose=chooser(pool_of(direct("eni-d1", 7)), {mac(7)}))
    store.fail = OSError("disk full")
    with pytest.raises(LedgerError):
        ledger.release(KEY)
    assert ledger.get(KEY) is not None


def test_release_is_durable_and_idempotent(store):
    ledger = DirectLedger(store)
    ledger.assign(KEY, POD, netns="/p", choose=chooser(pool_of(direct("eni-d1", 7)), {mac(7)}))
    assert ledger.release(KEY).eni_id == "eni-d1"
    assert ledger.release(KEY) is None
    assert DirectLedger(store).allocations() == []


def test_promises_cover_free_releasing_enis_at_home_and_are_never_handed_out(store):
    ledger = DirectLedger(store)
    pool = pool_of(direct("eni-d1", 7, state="Releasing"), direct("eni-d2", 8, state="Releasing"),
                   direct("eni-d3", 9))
    ledger.assign(KEY, POD, netns="/p", choose=lambda in_use, promised: (pool.enis[1], "eth2"))
    promised = ledger.promise_release(pool, present={mac(7): "eth1", mac(9): "eth3"})
    assert promised == {"eni-d1"} and DirectLedger(store).promised() == {"eni-d1"}
    bound_again = pool_of(direct("eni-d1", 7), direct("eni-d3", 9))
    assert ledger.promise_release(bound_again, present={mac(7): "eth1"}) == frozenset()
    with pytest.raises(LedgerError):
        ledger.assign(AttachmentKey("n", "c9", "eth0"), POD, netns="/p",
                      choose=lambda in_use, promised: (pool.enis[1], "x"))


@pytest.mark.parametrize("doc, problem", [
    ({"version": 9}, "format version"),
    ({"version": 1, "allocations": [{"network": "n"}]}, "corrupt"),
    ({"version": 1, "allocations": [], "promised": ["eni-d1"], "x": 1} | {
        "allocations": [{"network": "n", "containerId": "c", "ifname": "eth0", "eniId": "eni-d1", "eniMac": mac(7),
                         "address": "10.0.5.7/24", "gateway": "10.0.5.1", "linkName": "eth1", "allocatedAt": 1}]},
     "recorded twice"),
])
def test_a_corrupt_checkpoint_is_refused(store, doc, problem):
    store.doc = doc
    with pytest.raises(LedgerError, match=problem):
        DirectLedger(store)
