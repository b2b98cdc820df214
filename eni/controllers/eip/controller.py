"""Wires the EIP controller into a Manager: ``setup(manager, vpc=..., settings=...)``.

It reconciles EIPClaims and wakes them for: the claim itself (spec, deletion and finalizer
changes; not its status, which only this controller writes), the pod of the same name (IP, node,
phase, uid, deletion and eip-* annotation changes of pods that want an EIP), and the pod's
NodeENIConfig when its ENIs change (a pod IP showing up on an ENI). Reads go to the shared informer
cache (ReplicaSets too, with --enable-ownerref; claims are re-read from the API server), writes to the
API server. Wiring only; behaviour lives in the reconciler and the binder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eni.api.v1 import EIP_CLAIM, NODE_ENI_CONFIG
from eni.cloud.interfaces import VpcApi
from eni.runtime.builder import ControllerBuilder
from eni.runtime.cache.reader import CacheReader
from eni.runtime.client.interfaces import Reader
from eni.runtime.controller import Controller
from eni.runtime.events import EventRecorder
from eni.runtime.handler import enqueue_mapped
from eni.runtime.manager import Manager
from eni.runtime.meta import POD, Obj, key_of
from eni.runtime.predicate import Funcs, Predicate
from eni.runtime.reconcile import Request

from .claims import ClaimWriter
from .cloud import EipCloud
from .context import Deps
from .metrics import EipMetrics
from .podview import EIP_ANNOTATIONS, wants_eip
from .reconciler import EipClaimReconciler
from .settings import EipSettings

COMPONENT = "tke-eni-ipamd"
CONTROLLER_NAME = "eipclaim"


@dataclass(frozen=True, slots=True)
class EipController:
    """What ``setup`` added to the manager, for tests and for the caller's health checks."""

    controller: Controller
    reconciler: EipClaimReconciler
    recorder: EventRecorder
    metrics: EipMetrics


def _meta(obj: Obj) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _pod_facts(pod: Obj) -> tuple[Any, ...]:
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, _meta(pod)
    notes = meta.get("annotations") or {}
    return (meta.get("uid"), meta.get("deletionTimestamp"), spec.get("nodeName"), spec.get("hostNetwork"),
            status.get("podIP"), status.get("phase"), tuple(notes.get(k) for k in EIP_ANNOTATIONS))


def _claim_facts(claim: Obj) -> tuple[Any, ...]:
    meta = _meta(claim)
    return claim.get("spec"), meta.get("deletionTimestamp"), meta.get("finalizers")


def _nec_enis(nec: Obj) -> Any:
    return (nec.get("status") or {}).get("enis")


POD_PREDICATE: Predicate = Funcs(
    create=wants_eip,
    update=lambda old, new: (wants_eip(old) or wants_eip(new)) and _pod_facts(old) != _pod_facts(new),
    delete=wants_eip,
)
CLAIM_PREDICATE: Predicate = Funcs(update=lambda old, new: _claim_facts(old) != _claim_facts(new))
NEC_PREDICATE: Predicate = Funcs(create=lambda nec: bool(_nec_enis(nec)),
                                 update=lambda old, new: _nec_enis(old) != _nec_enis(new),
                                 delete=lambda nec: False)


def claim_of_pod(pod: Obj) -> Iterable[Request]:
    """The claim a pod's events wake: the one named after it."""
    key = key_of(pod)
    return [Request(namespace=key.namespace, name=key.name)] if wants_eip(pod) else []


def pods_on_node(reader: Reader) -> Any:
    """Maps a NodeENIConfig to the claims of the pods on its node that want an EIP and have an IP."""

    def map_nec(nec: Obj) -> list[Request]:
        node = key_of(nec).name
        pods = reader.list(POD, field_selector=f"spec.nodeName={node}")
        return [Request(namespace=key_of(p).namespace, name=key_of(p).name) for p in pods
                if wants_eip(p) and (p.get("status") or {}).get("podIP")]

    return map_nec


def setup(manager: Manager, *, vpc: VpcApi, settings: EipSettings) -> EipController:
    """Add the EIP controller to ``manager`` (it runs on the leader only)."""
    if manager.client is None:
        raise ValueError("the manager needs a client")
    metrics = EipMetrics(manager.metrics.registry)
    recorder = manager.event_recorder(COMPONENT)
    reader = CacheReader(manager.cache)
    cloud = EipCloud(vpc, metrics=metrics, clock=settings.clock, quota_retry_interval=settings.quota_retry_interval)
    deps = Deps(reader=reader, owners=reader, writer=ClaimWriter(manager.client), cloud=cloud, events=recorder,
                settings=settings)
    reconciler = EipClaimReconciler(deps)
    controller = (ControllerBuilder(manager).for_(EIP_CLAIM, predicates=[CLAIM_PREDICATE])
                  .watches(POD, enqueue_mapped(claim_of_pod), predicates=[POD_PREDICATE])
                  .watches(NODE_ENI_CONFIG, enqueue_mapped(pods_on_node(reader)), predicates=[NEC_PREDICATE])
                  .named(CONTROLLER_NAME).with_workers(settings.workers).complete(reconciler))
    return EipController(controller, reconciler, recorder, metrics)
