"""ControllerBuilder: wiring that reads like a sentence, and nothing else.

    ControllerBuilder(mgr).for_(VPC_IP_CLAIM).owns(VPC_IP).watches(POD, enqueue_mapped(fn)).named("vipc").complete(r)

``for_`` watches the reconciled kind and enqueues each object itself; ``owns`` watches a dependent kind and
enqueues its *controller* owner of the ``for_`` kind; ``watches`` takes any handler. Informers come from the
manager's shared cache, so two controllers on one selection share one watch. The builder holds no logic of
its own: every behaviour lives in Controller, handler and predicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from eni.runtime.cache.listwatch import Selector
from eni.runtime.controller import Controller
from eni.runtime.handler import EventHandler, enqueue_owner, enqueue_request_for_object
from eni.runtime.manager import Manager
from eni.runtime.meta import ResourceKind
from eni.runtime.predicate import Predicate
from eni.runtime.reconcile import Reconciler
from eni.runtime.workqueue.ratelimiter import RateLimiter


@dataclass(frozen=True, slots=True)
class _WatchSpec:
    kind: ResourceKind
    handler: EventHandler | None  # None: decided at complete() (owns needs the for_ kind)
    predicates: tuple[Predicate, ...]
    selector: Selector


class ControllerBuilder:
    """Builds a Controller, registers its watches on the manager's cache and adds it to the manager."""

    def __init__(self, manager: Manager) -> None:
        self._manager = manager
        self._for: _WatchSpec | None = None
        self._owns: list[_WatchSpec] = []
        self._watches: list[_WatchSpec] = []
        self._predicates: tuple[Predicate, ...] = ()
        self._name = ""
        self._workers = 1
        self._rate_limiter: RateLimiter | None = None

    def for_(
        self,
        kind: ResourceKind,
        *,
        predicates: Sequence[Predicate] = (),
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> Self:
        if self._for is not None:
            raise ValueError("for_ may be called only once")
        self._for = _WatchSpec(kind, enqueue_request_for_object(), tuple(predicates),
                               Selector(namespace, label_selector, field_selector))
        return self

    def owns(self, kind: ResourceKind, *, predicates: Sequence[Predicate] = ()) -> Self:
        self._owns.append(_WatchSpec(kind, None, tuple(predicates), Selector()))
        return self

    def watches(
        self,
        kind: ResourceKind,
        handler: EventHandler,
        *,
        predicates: Sequence[Predicate] = (),
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> Self:
        self._watches.append(_WatchSpec(kind, handler, tuple(predicates),
                                        Selector(namespace, label_selector, field_selector)))
        return self

    def with_predicates(self, *predicates: Predicate) -> Self:
        """Predicates applied to every watch of this controller."""
        self._predicates += predicates
        return self

    def named(self, name: str) -> Self:
        self._name = name
        return self

    def with_workers(self, workers: int) -> Self:
        self._workers = workers
        return self

    def with_rate_limiter(self, rate_limiter: RateLimiter) -> Self:
        self._rate_limiter = rate_limiter
        return self

    def complete(self, reconciler: Reconciler) -> Controller:
        """Build the controller, wire its watches and add it to the manager."""
        if self._for is None:
            raise ValueError("for_ is required")
        name = self._name or self._for.kind.kind.lower()
        controller = Controller(
            name,
            reconciler,
            workers=self._workers,
            rate_limiter=self._rate_limiter,
            clock=self._manager.clock,
            metrics=self._manager.metrics,
            cache_sync_timeout=self._manager.settings.cache_sync_timeout,
        )
        owner_handler = enqueue_owner(self._for.kind)
        for spec in [self._for, *self._owns, *self._watches]:
            informer = self._manager.cache.informer_for(
                spec.kind,
                namespace=spec.selector.namespace,
                label_selector=spec.selector.label_selector,
                field_selector=spec.selector.field_selector,
            )
            handler = spec.handler if spec.handler is not None else owner_handler
            controller.watch(informer, handler, (*self._predicates, *spec.predicates))
        self._manager.add(controller)
        return controller
