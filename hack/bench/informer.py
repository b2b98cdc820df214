"""Informer benchmark: list + watch N pods from the fake API server; time to sync and memory per cached object.

Usage: .venv/bin/python hack/bench/informer.py [--pods N]

Creates the pods through KubeClient, then times a fresh SharedInformer from start to ``has_synced``, then
times how long N/10 modifications take to reach a handler over the watch. Memory per cached object is measured
in a second, separate sync under tracemalloc (which slows everything down, so it is not timed).
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
import tracemalloc

from eni.runtime.cache import EventHandlerFuncs, SharedInformer
from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import KubeClient, KubeTransport, PatchType
from eni.runtime.meta import NAMESPACE, POD, ObjectKey
from eni.runtime.testing.apiserver import FakeApiServer


def pod(i: int) -> dict[str, object]:
    return {
        "metadata": {"name": f"pod-{i:05d}", "namespace": "bench", "labels": {"app": f"app-{i % 50}"}},
        "spec": {
            "nodeName": f"node-{i % 100}",
            "containers": [{"name": "app", "image": "registry.example/app:1.0", "ports": [{"containerPort": 8080}]}],
        },
    }


def sync(transport: KubeTransport, *, measure_memory: bool) -> tuple[float, float, SharedInformer, threading.Event]:
    gc.collect()
    if measure_memory:
        tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0] if measure_memory else 0
    lister_watcher = KubeListerWatcher(transport, POD)
    informer = SharedInformer(lister_watcher, name="bench")
    stop = threading.Event()
    started = time.perf_counter()
    threading.Thread(target=informer.start, args=(stop,), daemon=True).start()
    if not informer.wait_for_sync(600):
        raise SystemExit("the informer did not sync")
    elapsed = time.perf_counter() - started
    per_object = 0.0
    if measure_memory:
        gc.collect()
        per_object = (tracemalloc.get_traced_memory()[0] - baseline) / max(1, len(informer.store))
        tracemalloc.stop()
    if not measure_memory:
        print(f"the list took {lister_watcher.pages} pages of up to {lister_watcher.page_size} pods")
    return elapsed, per_object, informer, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    args = parser.parse_args()
    server = FakeApiServer(persist_path=None)
    server.start(host="127.0.0.1", port=0)
    try:
        transport = KubeTransport(server.api_client(), timeout=120)
        client = KubeClient(transport, qps=1e6, burst=1_000_000)
        client.create(NAMESPACE, {"metadata": {"name": "bench"}})
        started = time.perf_counter()
        for i in range(args.pods):
            client.create(POD, pod(i))
        print(f"created {args.pods:,} pods in {time.perf_counter() - started:.1f} s")

        elapsed, _, informer, stop = sync(transport, measure_memory=False)
        print(f"informer synced {len(informer.store):,} pods in {elapsed:.2f} s "
              f"({len(informer.store) / elapsed:,.0f} objects/s)")

        updates = max(1, args.pods // 10)
        seen = threading.Semaphore(0)
        informer.add_event_handler(EventHandlerFuncs(on_update=lambda old, new: seen.release()))
        started = time.perf_counter()
        for i in range(updates):
            client.patch(POD, ObjectKey("bench", f"pod-{i:05d}"), {"metadata": {"labels": {"touched": "1"}}},
                         patch_type=PatchType.MERGE)
        for _ in range(updates):
            if not seen.acquire(timeout=60):
                raise SystemExit("watch events went missing")
        print(f"{updates:,} patches observed through the watch in {time.perf_counter() - started:.2f} s")
        stop.set()

        _, per_object, informer, stop = sync(transport, measure_memory=True)
        stop.set()
        print(f"memory per cached pod (tracemalloc, whole sync): {per_object / 1024:.2f} KiB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
