"""Adds ipamd's controllers to a Manager: the node pool controller, the leaked-resource collector and the
reclaimer of exclusive ENIs kept for static pods, and in static-IP mode (``PoolConfig.static`` set) the
VpcIPClaim controller. The reclaimer runs in both modes: after a switch to non-static mode it deletes the
ENIs that static mode kept, which no pod gets again.

``add_ipamd_controllers(manager, vpc, config)`` is all the composition root (cmd/ipamd) calls. Both
parts need leadership, so with two replicas only the elected one talks to the cloud or writes.
This module wires only; behaviour lives in nodepool, gc, eni, nec and securitygroups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, VPC_IP, VPC_IP_CLAIM
from eni.cloud.interfaces import VpcApi
from eni.controllers.directeni.reclaim import KeptEniReclaimer
from eni.controllers.eni.records import Records
from eni.controllers.gc.collector import LeakCollector
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nodepool.config import PoolConfig
from eni.controllers.nodepool.reconciler import NodeReconciler
from eni.controllers.predicates import NEC_PREDICATE, NODE_PREDICATE, POD_PREDICATE
from eni.controllers.static.claims import ClaimSettings, VpcIPClaimReconciler
from eni.controllers.static.podview import wants_static_ip
from eni.runtime.builder import ControllerBuilder
from eni.runtime.cache.reader import CacheReader
from eni.runtime.client.errors import NotFoundError
from eni.runtime.controller import Controller
from eni.runtime.events import EventRecorder
from eni.runtime.handler import enqueue_mapped, enqueue_request_for_object
from eni.runtime.manager import Manager
from eni.runtime.meta import NODE, POD, Obj, key_of
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
    claims: ClaimSettings = field(default_factory=ClaimSettings)
    """Claim reclaim settings; used in static-IP mode only."""
    kept_eni_recheck: float = 60.0
    """Seconds between looks at a kept exclusive ENI whose pod's workload it follows (static-IP mode)."""


@dataclass(frozen=True, slots=True)
class IpamdParts:
    controller: Controller
    reconciler: NodeReconciler
    collector: LeakCollector
    recorder: EventRecorder
    metrics: IpamdMetrics
    claims: Controller | None = None
    """The VpcIPClaim controller (static-IP mode)."""
    kept_enis: Controller | None = None
    """Deletes exclusive ENIs kept for static pods when they expire, are deleted or lose their workload, and in
    non-static mode at once."""


def _node_of_pod(pod: Obj) -> Iterable[Request]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [Request(namespace="", name=str(node))] if node else []


def _node_of_vpc_ip(vip: Obj) -> Iterable[Request]:
    node = (vip.get("spec") or {}).get("nodeName")
    return [Request(namespace="", name=str(node))] if node else []


def _nodes_of_claim(reader: CacheReader) -> Callable[[Obj], Iterable[Request]]:
    """A claim wakes the node holding its IP and the node its pod runs on."""

    def mapped(claim: Obj) -> list[Request]:
        nodes = {str((claim.get("status") or {}).get("nodeName") or "")}
        try:
            nodes.add(str((reader.get(POD, key_of(claim)).get("spec") or {}).get("nodeName") or ""))
        except NotFoundError:
            pass
        return [Request(namespace="", name=n) for n in sorted(nodes) if n]

    return mapped


def _claim_of_pod(pod: Obj) -> Iterable[Request]:
    key = key_of(pod)
    return [Request(namespace=key.namespace, name=key.name)] if wants_static_ip(pod) else []


def _claim_of_vpc_ip(vip: Obj) -> Iterable[Request]:
    ref = (vip.get("spec") or {}).get("claimRef") or {}
    return [Request(namespace=str(ref["namespace"]), name=str(ref["name"]))] \
        if ref.get("namespace") and ref.get("name") else []


def add_ipamd_controllers(manager: Manager, vpc: VpcApi, config: IpamdConfig) -> IpamdParts:
    if manager.client is None:
        raise ValueError("the manager needs a client")
    metrics = IpamdMetrics(manager.metrics.registry)
    recorder = manager.event_recorder(COMPONENT)
    reader = CacheReader(manager.cache)
    reconciler = NodeReconciler(client=manager.client, reader=reader, vpc=vpc,
                                config=config.pool, recorder=recorder, metrics=metrics, clock=manager.clock)
    builder = (ControllerBuilder(manager).for_(NODE, predicates=[NODE_PREDICATE])
               .watches(NODE_ENI_CONFIG, enqueue_request_for_object(), predicates=[NEC_PREDICATE])
               .watches(POD, enqueue_mapped(_node_of_pod), predicates=[POD_PREDICATE]))
    claims = None
    if config.pool.static is not None:
        builder = (builder.watches(VPC_IP, enqueue_mapped(_node_of_vpc_ip))
                   .watches(VPC_IP_CLAIM, enqueue_mapped(_nodes_of_claim(reader))))
        claim_reconciler = VpcIPClaimReconciler(client=manager.client, reader=reader, recorder=recorder,
                                                settings=config.claims, clock=manager.clock)
        claims = (ControllerBuilder(manager).for_(VPC_IP_CLAIM)
                  .watches(POD, enqueue_mapped(_claim_of_pod))
                  .watches(VPC_IP, enqueue_mapped(_claim_of_vpc_ip))
                  .named("vpcipclaim").with_workers(2).complete(claim_reconciler))
    reclaimer = KeptEniReclaimer(client=manager.client, reader=reader, vpc=vpc, settings=config.claims,
                                 recheck=config.kept_eni_recheck, metrics=metrics, recorder=recorder,
                                 clock=manager.clock, static=config.pool.static is not None)
    kept_enis = ControllerBuilder(manager).for_(VPC_ENI).named("keptenis").with_workers(1).complete(reclaimer)
    controller = builder.named("nodepool").with_workers(config.workers).complete(reconciler)
    collector = LeakCollector(vpc=vpc, records=Records(manager.client), cluster_tags=config.cluster_tags,
                              interval=config.gc_interval, grace=config.gc_grace, metrics=metrics,
                              clock=manager.clock)
    manager.add(collector)
    return IpamdParts(controller, reconciler, collector, recorder, metrics, claims, kept_enis)
