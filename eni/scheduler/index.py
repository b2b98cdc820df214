"""ClusterIndex: per-node capacity and per-subnet usage, kept current by informer handlers.

kube-scheduler gives an extender 5 s; with 5,000 candidate nodes a request can afford about a microsecond
per node, so everything that depends only on the cluster's objects is computed here, when an object changes,
never per request. Handlers (Nodes, NodeENIConfigs, VpcIPs, VpcIPClaims, VpcENIs, unfinished Pods; each
informer calls its handler on its own thread) update the aggregates under one lock and replace a node's frozen
``NodeCapacity`` whenever one of its inputs changes. Requests read ``nodes`` and the other lookups without the
lock: every value read is immutable, and a dict lookup is atomic.

A route ENI's used slots are the larger of the IPs its NodeENIConfig lists and the VpcIPs that name it, so an
assignment ipamd has started (a VpcIP in Assigning) already counts. Exclusive ENIs come from the NodeENIConfig
too (warm ones free per subnet, the attached count, which pod each is reserved for); VpcENIs only tell which
ENI is kept for which static direct-ENI pod, and a detached kept ENI's primary IP still counts as used in its
subnet. Subnets nominated by VpcIPClaims and by pods themselves (``eni.scheduler.nominations``) are the
ones ``--only-nominated-eni-subnets`` reserves; of a pod nothing else is kept. This index never writes to the
API.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, VPC_IP, VPC_IP_CLAIM
from eni.runtime.cache import DeletedFinalStateUnknown, EventHandlerFuncs, HandlerRegistration, InformerCache
from eni.runtime.meta import NODE, POD, Obj
from eni.scheduler.facts import (
    ClaimFacts,
    KeptEniFacts,
    NecFacts,
    VipFacts,
    claim_facts,
    kept_eni_facts,
    name_of,
    nec_facts,
    node_zone,
    vip_facts,
)
from eni.scheduler.model import NodeCapacity
from eni.scheduler.nominations import Nominations
from eni.scheduler.podneeds import own_nominations, pod_key

log = logging.getLogger(__name__)

_NO_WARM: Mapping[str, int] = MappingProxyType({})
UNFINISHED_PODS = "status.phase!=Succeeded,status.phase!=Failed"
"""The pods watched: a finished pod nominates nothing, and leaving it out keeps the cache smaller."""


@dataclass(frozen=True, slots=True)
class SubnetUsage:
    """What the cluster's own objects say about a subnet."""

    zone: str
    """The zone most NodeENIConfigs that use the subnet are in; empty when none does."""
    cidr: str
    """From an ENI of the subnet; empty until the cluster has one."""
    used: int
    """Addresses the cluster holds in it: ENI primary IPs (attached, or detached and kept) plus secondary IPs."""


class ClusterIndex:
    """Per-node capacity, VpcIP and claim lookups, and per-subnet usage; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[str, NodeCapacity] = {}
        self.nodes: Mapping[str, NodeCapacity] = self._nodes
        """Capacity by node name, for lock-free reads (the live dict: a proxy would slow every lookup)."""
        self._necs: dict[str, NecFacts] = {}
        self._node_zones: dict[str, str] = {}
        self._vips: dict[str, VipFacts] = {}
        self._eni_vips: Counter[str] = Counter()
        self._subnet_vips: Counter[str] = Counter()
        self._subnet_enis: Counter[str] = Counter()
        self._subnet_nec_ips: Counter[str] = Counter()
        self._subnet_zones: dict[str, Counter[str]] = {}
        self._subnet_cidrs: dict[str, str] = {}
        self._claims: dict[tuple[str, str], ClaimFacts] = {}
        self._nominations = Nominations()
        self._kept_enis: dict[str, KeptEniFacts] = {}
        self._kept_by_pod: dict[tuple[str, str], tuple[KeptEniFacts, ...]] = {}
        self._subnet_kept: Counter[str] = Counter()
        self._eni_nodes_by_pod: dict[str, frozenset[str]] = {}
        self._registrations: list[HandlerRegistration] = []
        self.version = 0
        """Bumped on every change; lets readers cache what they derive from the index."""

    # -- reads (lock-free) ----------------------------------------------------------------------------------
    def claim(self, namespace: str, name: str) -> ClaimFacts | None:
        return self._claims.get((namespace, name))

    def vip(self, ip: str) -> VipFacts | None:
        """The VpcIP of ``ip`` while the cluster holds it."""
        return self._vips.get(ip)

    def subnet_of_ip(self, ip: str) -> str:
        """The subnet of a VpcIP the cluster holds; empty when it holds no such IP."""
        facts = self._vips.get(ip)
        return facts.subnet_id if facts is not None else ""

    def kept_eni(self, namespace: str, name: str) -> KeptEniFacts | None:
        """The exclusive ENI kept for the static pod ``namespace/name``; the first by id should there be more."""
        kept = self._kept_by_pod.get((namespace, name))
        return kept[0] if kept else None

    def eni_nodes(self, namespace: str, name: str) -> frozenset[str]:
        """Nodes whose NodeENIConfig lists an exclusive ENI reserved for the pod ``namespace/name``."""
        return self._eni_nodes_by_pod.get(f"{namespace}/{name}", frozenset())

    @property
    def reserved_subnets(self) -> frozenset[str]:
        """Subnets some VpcIPClaim or unfinished pod nominates (kept for such pods with
        --only-nominated-eni-subnets)."""
        return self._nominations.reserved

    def subnet_usage(self) -> dict[str, SubnetUsage]:
        """Every subnet the cluster's objects mention, with what they say about it (a consistent copy)."""
        with self._lock:
            ids = set(self._subnet_zones) | set(self._subnet_vips) | set(self._subnet_enis)
            ids.update(self._nominations.reserved)
            ids.update(claim.subnet_id for claim in self._claims.values() if claim.subnet_id)
            ids.update(self._subnet_kept)
            return {
                subnet: SubnetUsage(
                    zone=_most_common(self._subnet_zones.get(subnet)),
                    cidr=self._subnet_cidrs.get(subnet, ""),
                    used=self._subnet_enis[subnet] + self._subnet_kept[subnet]
                    + max(self._subnet_vips[subnet], self._subnet_nec_ips[subnet]),
                )
                for subnet in ids
            }

    def has_synced(self) -> bool:
        """True once every registered handler has seen its informer's initial list."""
        return bool(self._registrations) and all(r.has_synced() for r in self._registrations)

    # -- registration --------------------------------------------------------------------------------------
    def watch(self, cache: InformerCache, *, pods: bool = True) -> None:
        """Register the handlers on ``cache``'s informers for Nodes, NodeENIConfigs, VpcIPs, VpcIPClaims,
        VpcENIs and, with ``pods``, unfinished Pods (only the subnets pods nominate come from them, which matter
        only under --only-nominated-eni-subnets: without it, the cluster's pods need not be held)."""
        for kind, on_upsert, on_remove, fields in (
            (NODE, self.upsert_node, self.remove_node, ""),
            (NODE_ENI_CONFIG, self.upsert_nec, self.remove_nec, ""),
            (VPC_IP, self.upsert_vip, self.remove_vip, ""),
            (VPC_IP_CLAIM, self.upsert_claim, self.remove_claim, ""),
            (VPC_ENI, self.upsert_veni, self.remove_veni, ""),
            (POD, self.upsert_pod, self.remove_pod, UNFINISHED_PODS),
        ):
            if kind is POD and not pods:
                continue
            handler = EventHandlerFuncs(
                on_add=_guarded(on_upsert, kind.kind),
                on_update=_guarded(lambda _old, new, fn=on_upsert: fn(new), kind.kind),
                on_delete=_guarded(lambda obj, fn=on_remove: fn(_final(obj)), kind.kind),
            )
            self._registrations.append(cache.informer_for(kind, field_selector=fields).add_event_handler(handler))

    # -- Nodes ---------------------------------------------------------------------------------------------
    def upsert_node(self, node: Obj, _initial: bool = False) -> None:
        name, zone = name_of(node), node_zone(node)
        with self._lock:
            if self._node_zones.get(name) != zone:
                self._node_zones[name] = zone
                self._refresh_node(name)

    def remove_node(self, node: Obj) -> None:
        with self._lock:
            name = name_of(node)
            if self._node_zones.pop(name, None) is not None:
                self._refresh_node(name)

    # -- NodeENIConfigs ------------------------------------------------------------------------------------
    def upsert_nec(self, nec: Obj, _initial: bool = False) -> None:
        facts = nec_facts(nec)
        with self._lock:
            old = self._necs.get(facts.node)
            if old == facts:
                return
            if old is not None:
                self._count_nec(old, -1)
            self._necs[facts.node] = facts
            self._count_nec(facts, +1)
            self._refresh_node(facts.node)

    def remove_nec(self, nec: Obj) -> None:
        with self._lock:
            old = self._necs.pop(name_of(nec), None)
            if old is not None:
                self._count_nec(old, -1)
                self._refresh_node(old.node)

    def _count_nec(self, facts: NecFacts, sign: int) -> None:
        zone_subnets = set(facts.subnets) | {eni.subnet_id for eni in facts.enis} | set(facts.other_eni_subnets)
        zone_subnets.discard("")
        if facts.zone:
            for subnet in zone_subnets:
                votes = self._subnet_zones.setdefault(subnet, Counter())
                votes[facts.zone] += sign
                if votes[facts.zone] <= 0:
                    del votes[facts.zone]
                if not votes:
                    del self._subnet_zones[subnet]
        for subnet in facts.other_eni_subnets:
            _add(self._subnet_enis, subnet, sign)
        for eni in facts.enis:
            if eni.subnet_id:
                _add(self._subnet_enis, eni.subnet_id, sign)
                _add(self._subnet_nec_ips, eni.subnet_id, sign * eni.ip_count)
                if eni.cidr and sign > 0:
                    self._subnet_cidrs[eni.subnet_id] = eni.cidr
        for pod in {direct.pod for direct in facts.direct_enis if direct.pod}:
            nodes = self._eni_nodes_by_pod.get(pod, frozenset())
            nodes = nodes | {facts.node} if sign > 0 else nodes - {facts.node}
            if nodes:
                self._eni_nodes_by_pod[pod] = nodes
            else:
                self._eni_nodes_by_pod.pop(pod, None)

    # -- VpcIPs --------------------------------------------------------------------------------------------
    def upsert_vip(self, vip: Obj, _initial: bool = False) -> None:
        facts = vip_facts(vip)
        if facts is None:
            self.remove_vip(vip)
            return
        with self._lock:
            old = self._vips.get(facts.ip)
            if old == facts:
                return
            if old is not None:
                self._count_vip(old, -1)
            self._vips[facts.ip] = facts
            self._count_vip(facts, +1)
            if old is not None and old.node != facts.node:
                self._refresh_node(old.node)
            self._refresh_node(facts.node)

    def remove_vip(self, vip: Obj) -> None:
        with self._lock:
            old = self._vips.pop(name_of(vip), None)
            if old is not None:
                self._count_vip(old, -1)
                self._refresh_node(old.node)

    def _count_vip(self, facts: VipFacts, sign: int) -> None:
        _add(self._subnet_vips, facts.subnet_id, sign)
        if facts.eni_id:
            _add(self._eni_vips, facts.eni_id, sign)
        self.version += 1

    # -- VpcIPClaims ---------------------------------------------------------------------------------------
    def upsert_claim(self, claim: Obj, _initial: bool = False) -> None:
        facts = claim_facts(claim)
        key = (facts.namespace, facts.name)
        with self._lock:
            if self._claims.get(key) == facts:
                return
            self._claims[key] = facts
            self._nominations.set(("claim", *key), facts.nominated_subnets)
            self.version += 1

    def remove_claim(self, claim: Obj) -> None:
        facts = claim_facts(claim)
        key = (facts.namespace, facts.name)
        with self._lock:
            self._claims.pop(key, None)
            self._nominations.set(("claim", *key), ())
            self.version += 1

    # -- Pods: only what they nominate -----------------------------------------------------------------------
    def upsert_pod(self, pod: Obj, _initial: bool = False) -> None:
        owner = ("pod", *pod_key(pod))
        subnets = own_nominations(pod)
        if not subnets and not self._nominations.nominates(owner):
            return  # most pods, most updates: nothing to record and nothing to forget, so no lock
        with self._lock:
            if self._nominations.set(owner, subnets):
                self.version += 1

    def remove_pod(self, pod: Obj) -> None:
        owner = ("pod", *pod_key(pod))
        if self._nominations.nominates(owner):
            with self._lock:
                if self._nominations.set(owner, ()):
                    self.version += 1

    # -- VpcENIs ------------------------------------------------------------------------------------------
    def upsert_veni(self, veni: Obj, _initial: bool = False) -> None:
        facts = kept_eni_facts(veni)
        if facts is None:
            self.remove_veni(veni)
            return
        with self._lock:
            old = self._kept_enis.get(facts.eni_id)
            if old == facts:
                return
            self._set_kept(old, facts)

    def remove_veni(self, veni: Obj) -> None:
        with self._lock:
            old = self._kept_enis.get(name_of(veni))
            if old is not None:
                self._set_kept(old, None)

    def _set_kept(self, old: KeptEniFacts | None, new: KeptEniFacts | None) -> None:
        """Replace one kept ENI's facts; the caller holds the lock. Lists are replaced, never changed in place,
        so lock-free readers always see a whole one."""
        for facts, sign in ((old, -1), (new, +1)):
            if facts is None:
                continue
            if not facts.node:
                _add(self._subnet_kept, facts.subnet_id, sign)
            others = tuple(kept for kept in self._kept_by_pod.get(facts.owner, ()) if kept.eni_id != facts.eni_id)
            if sign > 0:
                self._kept_enis[facts.eni_id] = facts
                others = tuple(sorted((*others, facts), key=lambda kept: kept.eni_id))
            else:
                self._kept_enis.pop(facts.eni_id, None)
            if others:
                self._kept_by_pod[facts.owner] = others
            else:
                self._kept_by_pod.pop(facts.owner, None)
        self.version += 1

    # -- node records --------------------------------------------------------------------------------------
    def _refresh_node(self, name: str) -> None:
        """Rebuild one node's capacity record; the caller holds the lock."""
        self.version += 1
        if not name:
            return
        nec = self._necs.get(name)
        if nec is None:
            if name in self._node_zones:
                self._nodes[name] = NodeCapacity(name=name, zone=self._node_zones[name])
            else:
                self._nodes.pop(name, None)
            return
        free: dict[str, int] = {}
        for eni in nec.enis:
            used = max(eni.ip_count, self._eni_vips.get(eni.eni_id, 0))
            free[eni.subnet_id] = free.get(eni.subnet_id, 0) + max(0, nec.max_ip_per_eni - used)
        warm: dict[str, int] = {}
        for direct in nec.direct_enis:
            if direct.free and direct.subnet_id:  # without a subnet no pod's candidate subnets can match it
                warm[direct.subnet_id] = warm.get(direct.subnet_id, 0) + 1
        self._nodes[name] = NodeCapacity(
            name=name,
            zone=nec.zone or self._node_zones.get(name, ""),
            configured=True,
            subnets=frozenset(nec.subnets),
            eni_free_slots=MappingProxyType(free),
            eni_count=len(nec.enis),
            max_eni=nec.max_eni,
            free_direct_enis=MappingProxyType(warm) if warm else _NO_WARM,
            direct_eni_count=len(nec.direct_enis),
            max_direct_eni=nec.max_direct_eni,
        )


def _add(counter: Counter[str], key: str, delta: int) -> None:
    value = counter[key] + delta
    if value > 0:
        counter[key] = value
    else:
        del counter[key]


def _most_common(votes: Counter[str] | None) -> str:
    if not votes:
        return ""
    return max(sorted(votes), key=lambda zone: votes[zone])


def _final(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def _guarded(fn: Callable[..., None], kind: str) -> Callable[..., None]:
    """A handler that logs and drops an event it cannot digest instead of losing the ones after it."""

    def run(*args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("Could not index an object", extra={"kv": {"kind": kind}})

    return run
