"""Adds ipamd's controllers to a Manager: the node pool controller and the leaked-resource collector.

``add_ipamd_controllers(manager, vpc, config)`` is all the composition root (cmd/ipamd) calls. Both
parts need leadership, so with two replicas only the elected one talks to the cloud or writes.
This module wires only; behaviour lives in nodepool, gc, eni, nec and securitygroups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eni.api.v1 import NODE_ENI_CONFIG
from eni.cloud.interfaces import VpcApi
from eni.controllers.eni.records import Records
from eni.controllers.gc.collector import LeakCollector
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.controllers.predicates import NEC_PREDICATE, NODE_PREDICATE, POD_PREDICATE
from eni.runtime.builder import ControllerBuilder
from eni.runtime.cache.reader import CacheReader
from eni.runtime.controller import Controller
from eni.runtime.events import EventRecorder
from eni.runtime.handler import enqueue_mapped, enqueue_request_for_object
from eni.runtime.manager import Manager
from eni.runtime.meta import NODE, POD, Obj
from eni.runtime.reconcile import Request

COMPONENT = "tke-eni-ipamd"


@dataclass(frozen=True, slots=True, kw_only=True)
class IpamdConfig:
    pool: PoolConfig
    cluster_tags: Mapping[str, str] = field(default_factory=dict)
    """The adapter's marker tags of this cluster; GC lists the cloud's ENIs by them."""
    gc_interval: float = 300.0
    gc_grace: float = 600.0
    workers: int = 4


@dataclass(frozen=True, slots=True)
class IpamdParts:
    controller: Controller
    reconciler: NodeReconciler
    collector: LeakCollector
    recorder: EventRecorder
    metrics: IpamdMetrics


def _node_of_pod(pod: Obj) -> Iterable[Request]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [Request(namespace="", name=str(node))] if node else []


def add_ipamd_controllers(manager: Manager, vpc: VpcApi, config: IpamdConfig) -> IpamdParts:
    if manager.client is None:
        raise ValueError("the manager needs a client")
    metrics = IpamdMetrics(manager.metrics.registry)
    recorder = manager.event_recorder(COMPONENT)
    reconciler = NodeReconciler(client=manager.client, reader=CacheReader(manager.cache), vpc=vpc,
                                config=config.pool, recorder=recorder, metrics=metrics, clock=manager.clock)
    controller = (ControllerBuilder(manager).for_(NODE, predicates=[NODE_PREDICATE])
                  .watches(NODE_ENI_CONFIG, enqueue_request_for_object(), predicates=[NEC_PREDICATE])
                  .watches(POD, enqueue_mapped(_node_of_pod), predicates=[POD_PREDICATE])
                  .named("nodepool").with_workers(config.workers).complete(reconciler))
    collector = LeakCollector(vpc=vpc, records=Records(manager.client), cluster_tags=config.cluster_tags,
                              interval=config.gc_interval, grace=config.gc_grace, metrics=metrics,
                              clock=manager.clock)
    manager.add(collector)
    return IpamdParts(controller, reconciler, collector, recorder, metrics)
