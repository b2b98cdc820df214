"""Work queue throughput on one thread: add/get/done cycles per second, against queue.Queue put/get.

Usage: .venv/bin/python hack/bench/workqueue.py [--items N]

One "op" is one add + get + done of a distinct item (the work a controller does per event). The same loop over
``queue.Queue`` (put + get) is measured in the same run as the reference.
"""

from __future__ import annotations

import argparse
import queue
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from eni.runtime.metrics import RuntimeMetrics
from eni.runtime.workqueue import Queue, RateLimitingQueue


def best_rate(run: Callable[[int], None], items: int, repeats: int = 5) -> float:
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        run(items)
        best = max(best, items / (time.perf_counter() - started))
    return best


def stdlib_queue(items: int) -> None:
    q: queue.Queue[int] = queue.Queue()
    for i in range(items):
        q.put(i)
        q.get()


def work_queue(make: Callable[[], Queue[int]]) -> Callable[[int], None]:
    def run(items: int) -> None:
        q = make()
        for i in range(items):
            q.add(i)
            q.done(q.get() or 0)
        q.shut_down()

    return run


def batched(make: Callable[[], Queue[int]]) -> Callable[[int], None]:
    def run(items: int) -> None:
        q = make()
        for i in range(items):
            q.add(i)
        for _ in range(items):
            q.done(q.get() or 0)
        q.shut_down()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    reference = best_rate(stdlib_queue, args.items)
    cases = {
        "Queue (no metrics)": work_queue(lambda: Queue()),
        "Queue (no metrics), all queued then drained": batched(lambda: Queue()),
        "Queue with Prometheus metrics": work_queue(
            lambda: Queue(name="bench", metrics=RuntimeMetrics(CollectorRegistry()).queue("bench"))),
        "RateLimitingQueue with metrics": work_queue(
            lambda: RateLimitingQueue(name="bench", metrics=RuntimeMetrics(CollectorRegistry()).queue("bench"))),
    }
    print(f"{'queue.Queue put+get:':<60}{reference:>10,.0f} ops/s")
    for name, run in cases.items():
        rate = best_rate(run, args.items)
        print(f"{name + ' add+get+done:':<60}{rate:>10,.0f} ops/s  ({rate / reference:.2f}x queue.Queue)")


if __name__ == "__main__":
    main()
