"""Test doubles with real in-memory behaviour: FakeClock, RecordingQueue, FakeLeaseLock, FakeClient.

The fake Kubernetes API server lives in ``eni.runtime.testing.apiserver`` (imported separately: it is heavier).
"""

from eni.runtime.testing.client import FakeClient, json_patch, merge_patch
from eni.runtime.testing.clock import FakeClock
from eni.runtime.testing.lease_lock import FakeLease, FakeLeaseLock
from eni.runtime.testing.listwatch import FakeListerWatcher
from eni.runtime.testing.queue import RecordingQueue

__all__ = [
    "FakeClient",
    "FakeClock",
    "FakeLease",
    "FakeLeaseLock",
    "FakeListerWatcher",
    "RecordingQueue",
    "json_patch",
    "merge_patch",
]
