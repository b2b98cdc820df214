"""The record of every API call the emulator answered: action, time, outcome (for tests and admin).

Bounded (oldest records fall off) and thread-safe. ``outcome`` is ``"ok"``, the error code, or
``"dropped"`` for an injected dropped connection.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

MAX_RECORDS = 100_000


@dataclass(frozen=True, slots=True)
class CallRecord:
    action: str
    service: str
    time: float  # time.time() when the reply was decided
    outcome: str
    request_id: str


class CallLog:
    def __init__(self, *, max_records: int = MAX_RECORDS) -> None:
        self._lock = threading.Lock()
        self._records: deque[CallRecord] = deque(maxlen=max_records)

    def add(self, *, action: str, service: str, outcome: str, request_id: str) -> None:
        with self._lock:
            self._records.append(CallRecord(action, service, time.time(), outcome, request_id))

    def records(self, action: str | None = None) -> list[CallRecord]:
        with self._lock:
            return [r for r in self._records if action is None or r.action == action]

    def count(self, action: str | None = None, *, outcome: str | None = None) -> int:
        return sum(1 for r in self.records(action) if outcome is None or r.outcome == outcome)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
