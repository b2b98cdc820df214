"""Fixtures of the agent's unit tests: NodeENIConfig status documents, a fake wall clock, in-memory checkpoints
(``store`` has a journal beside it, as the agent's file checkpoint does)."""

import copy

import pytest


def eni_status(eni_id, mac, primary, subnet, gateway, ips, *, kind="route"):
    return {
        "eniId": eni_id,
        "mac": mac,
        "primaryIP": primary,
        "subnetId": "subnet-" + eni_id,
        "subnetCIDR": subnet,
        "gateway": gateway,
        "routeTableId": "rtb-1",
        "type": kind,
        "ips": [{"ip": ip, "state": state} for ip, state in ips],
    }


def two_eni_status(first_ips=3, second_ips=3):
    return {
        "enis": [
            eni_status("eni-a", "02:00:00:00:00:0a", "10.0.1.10", "10.0.1.0/24", "10.0.1.1",
                       [(f"10.0.1.{20 + i}", "Bound") for i in range(first_ips)]),
            eni_status("eni-b", "02:00:00:00:00:0b", "10.0.2.10", "10.0.2.0/24", "10.0.2.1",
                       [(f"10.0.2.{20 + i}", "Bound") for i in range(second_ips)]),
        ]
    }


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def step(self, seconds):
        self.now += seconds


class MemoryCheckpointer:
    """Keeps the last saved document (deep-copied, as a file would); can be told to fail the next saves."""

    def __init__(self, doc=None):
        self.doc = copy.deepcopy(doc)
        self.saves = 0
        self.fail = None

    def load(self):
        return copy.deepcopy(self.doc)

    def save(self, doc, *, sync_directory=True):
        if self.fail is not None:
            raise self.fail
        self.saves += 1
        self.directory_syncs = getattr(self, "directory_syncs", 0) + int(sync_directory)
        self.doc = copy.deepcopy(dict(doc))


class JournaledMemoryCheckpointer(MemoryCheckpointer):
    """A ``MemoryCheckpointer`` with an in-memory journal file: ``journal()`` opens it the way a new agent process
    opens the file (appends wait for a restart). ``fail`` fails journal writes too."""

    def __init__(self, doc=None):
        super().__init__(doc)
        self.journal_generation = None  # the generation in the journal's header; None: no journal file
        self.lines = []  # the records in the journal file
        self.appends = 0
        self.restarts = 0

    @property
    def writes(self):
        """Checkpoint saves and journal appends: each is one durable write."""
        return self.saves + self.appends

    def journal(self):
        return _MemoryJournalHandle(self)

    def reopened(self, **kwargs):
        """A Ledger over what is durable now, as an agent restarted at this instant sees it."""
        from eni.agent.ledger import Ledger

        return Ledger(self, **kwargs)


class _MemoryJournalHandle:
    def __init__(self, file):
        self.file = file
        self.started = False
        self.records = 0

    def read(self, generation):
        if self.file.journal_generation is None or self.file.journal_generation < generation:
            return []
        assert self.file.journal_generation == generation, "a journal newer than its checkpoint"
        return copy.deepcopy(self.file.lines)

    def restart(self, generation):
        self.started = False
        if self.file.fail is not None:
            raise self.file.fail
        self.file.journal_generation, self.file.lines = generation, []
        self.file.restarts += 1
        self.started, self.records = True, 0

    def append(self, records):
        assert self.started, "append before restart"
        if self.file.fail is not None:
            self.started = False
            raise self.file.fail
        self.file.lines.extend(copy.deepcopy(list(records)))
        self.file.appends += 1
        self.records += len(records)


@pytest.fixture
def status_of():
    """Builds NodeENIConfig status documents: ``status_of.eni(...)`` and ``status_of.two_enis(a, b)``."""

    class Builder:
        eni = staticmethod(eni_status)
        two_enis = staticmethod(two_eni_status)

    return Builder


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store():
    return JournaledMemoryCheckpointer()


@pytest.fixture
def plain_store():
    """A checkpoint without a journal: the ledger saves the whole document per change."""
    return MemoryCheckpointer()
