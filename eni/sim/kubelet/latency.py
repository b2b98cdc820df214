"""CNI ADD latencies a kubelet stand-in observed, one line of milliseconds per sandbox, appended to a file.

``tke-eni-sim demo`` reads every node's file to print the distribution. Appends are single short writes,
so concurrent readers see whole lines.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class LatencyLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, seconds: float) -> None:
        with open(self.path, "a") as f:
            f.write(f"{seconds * 1000:.1f}\n")


def read_latencies(paths: Iterable[Path]) -> list[float]:
    """Every recorded latency in milliseconds; unreadable lines are skipped."""
    values: list[float] = []
    for path in paths:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                values.append(float(line))
            except ValueError:
                continue
    return values


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Distribution:
        if not values:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        ordered = sorted(values)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return cls(len(ordered), statistics.median(ordered), pick(0.9), pick(0.99), ordered[-1])
