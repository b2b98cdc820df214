"""InformerCache: one shared informer per (kind, namespace, label selector, field selector).

Two controllers asking for the same selection get the same SharedInformer, hence one watch and one copy of the
objects (client-go's SharedInformerFactory, controller-runtime's informer cache). Informers requested before
``start`` start with it; ones requested later start at once. Reads (``get``, ``list``) go to the informer of
that selection and return shared objects: never mutate them. The cache never writes to the API server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from eni.runtime.cache.informer import SharedInformer
from eni.runtime.cache.listwatch import KubeListerWatcher, ListerWatcher, Selector
from eni.runtime.cache.reflector import DEFAULT_MIN_WATCH_TIMEOUT
from eni.runtime.cache.store import NAMESPACE_INDEX, IndexFunc, index_by_namespace
from eni.runtime.client.transport import KubeTransport
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import Obj, ObjectKey, ResourceKind

ListerWatcherFactory = Callable[[ResourceKind, Selector], ListerWatcher]


class InformerCache:
    """Shared informers, created on demand and started together."""

    def __init__(
        self,
        lister_watchers: ListerWatcherFactory,
        *,
        resync_period: float = 0.0,
        clock: Clock = REAL_CLOCK,
        min_watch_timeout: int = DEFAULT_MIN_WATCH_TIMEOUT,
    ) -> None:
        self._lister_watchers = lister_watchers
        self._resync_period = resync_period
        self._clock = clock
        self._min_watch_timeout = min_watch_timeout
        self._lock = threading.Lock()
        self._informers: dict[tuple[ResourceKind, Selector], SharedInformer] = {}
        self._threads: list[threading.Thread] = []
        self._stop: threading.Event | None = None

    @classmethod
    def over(
        cls,
        transport: KubeTransport,
        *,
        resync_period: float = 0.0,
        clock: Clock = REAL_CLOCK,
        min_watch_timeout: int = DEFAULT_MIN_WATCH_TIMEOUT,
    ) -> InformerCache:
        """A cache whose informers list and watch through ``transport``."""
        return cls(
            lambda kind, selector: KubeListerWatcher(transport, kind, selector),
            resync_period=resync_period,
            clock=clock,
            min_watch_timeout=min_watch_timeout,
        )

    def informer_for(
        self,
        kind: ResourceKind,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        indexers: Mapping[str, IndexFunc] | None = None,
    ) -> SharedInformer:
        """The shared informer of this selection, created (and started, if the cache runs) on first use.

        ``indexers`` are added when new to the informer; an index name already present is kept as is.
        """
        selector = Selector(namespace=namespace, label_selector=label_selector, field_selector=field_selector)
        with self._lock:
            informer = self._informers.get((kind, selector))
            if informer is None:
                scope = (namespace, label_selector, field_selector)
                name = kind.plural + "".join(f"[{part}]" for part in scope if part)
                informer = SharedInformer(
                    self._lister_watchers(kind, selector),
                    name=name,
                    indexers={NAMESPACE_INDEX: index_by_namespace},
                    resync_period=self._resync_period,
                    clock=self._clock,
                    min_watch_timeout=self._min_watch_timeout,
                )
                self._informers[(kind, selector)] = informer
                if self._stop is not None:
                    self._start_locked(informer, self._stop)
        if indexers:
            known = set(informer.store.index_names())
            fresh = {name: fn for name, fn in indexers.items() if name not in known}
            if fresh:
                informer.add_indexers(fresh)
        return informer

    def informers(self) -> list[SharedInformer]:
        with self._lock:
            return list(self._informers.values())

    def start(self, stop: threading.Event) -> None:
        """Start every informer and block until ``stop`` is set; then wait for them to end."""
        with self._lock:
            if self._stop is not None:
                raise RuntimeError("the informer cache is already started")
            self._stop = stop
            for informer in self._informers.values():
                self._start_locked(informer, stop)
        while not stop.wait(1.0):
            pass
        for thread in self._threads:
            thread.join(timeout=10.0)

    def _start_locked(self, informer: SharedInformer, stop: threading.Event) -> None:
        thread = threading.Thread(target=informer.start, args=(stop,), name=f"informer-{informer.name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def has_synced(self) -> bool:
        return all(informer.has_synced() for informer in self.informers())

    def wait_for_sync(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Block (real time) until every informer has synced; False on timeout or stop."""
        deadline = time.monotonic() + timeout
        for informer in self.informers():
            if not informer.wait_for_sync(max(0.0, deadline - time.monotonic()), stop):
                return False
        return True

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, kind: ResourceKind, key: ObjectKey) -> Obj | None:
        """The cached object, from the whole-kind informer (created on first use)."""
        return self.informer_for(kind).get_by_key(str(key))

    def list(self, kind: ResourceKind, *, namespace: str = "") -> list[Obj]:
        informer = self.informer_for(kind)
        if namespace:
            return informer.by_index(NAMESPACE_INDEX, namespace)
        return informer.list()
