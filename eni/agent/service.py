"""The one implementation of the agent API's methods, behind both the gRPC and the JSON socket.

Why this shape: the edges (``eni.agent.server``) only convert messages and map errors; every decision
lives here, over domain values, so it is tested without sockets. ADD reserves an IP in the ledger and plumbs
the pod while the record is written, answering once both are done; DEL removes the routes and rules, releases
durably, leaves the veth to a background worker, and is idempotent; CHECK compares. Every durable change of
the allocations is announced through ``on_change`` (the node loop reports in-use IPs to ipamd promptly).
An attachment that gets a whole exclusive ENI instead (``eni.agent.netchoice``) is handed to the
``DirectEniService``; which ledger knows a key is its kind, so DEL and CHECK follow it without the pod.

Must never: raise anything but ``AgentError`` subclasses for expected failures; answer ADD before its
ledger record is durable; fail DEL because the namespace or veth is already gone.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from typing import TypeVar

from eni.agent.directledger import DirectAllocation
from eni.agent.directservice import DirectEniService
from eni.agent.errors import (
    CheckFailedError,
    InvalidRequestError,
    NetworkSetupError,
    StaticIpPendingError,
    UnknownContainerError,
)
from eni.agent.ledger import Allocation, AttachmentKey, Ledger, PodRef
from eni.agent.netchoice import PodLookup, wants_direct_eni
from eni.agent.podnet import PodInterfaces, PodNetworker, PodSetup, host_ifname_for
from eni.agent.pool import PoolView
from eni.agent.reaper import VethReaper
from eni.agent.servicetypes import DEFAULT_ROUTE, AddResult, IpamResult, PodRequest, ServiceSettings

__all__ = ["AddResult", "AgentService", "IpamResult", "PodRequest", "ServiceSettings", "DEFAULT_ROUTE"]

log = logging.getLogger(__name__)

_CONTAINER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_IFNAME_FORBIDDEN = re.compile(r"[/:\s]")
_LOCK_STRIPES = 64
_COMMIT_WORKERS = 8
_COMMIT_TIMEOUT = 60.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _PoolSnapshot:
    pool: PoolView = PoolView()
    tables: Mapping[str, int] = field(default_factory=dict)


class AgentService:
    """Pod IPs and pod networks of one node. Thread-safe: calls for one attachment are serialised."""

    def __init__(self, ledger: Ledger, network: PodNetworker, *, settings: ServiceSettings | None = None,
                 on_change: Callable[[], None] | None = None, direct: DirectEniService | None = None,
                 pod_lookup: PodLookup | None = None) -> None:
        self._ledger = ledger
        self._direct = direct
        self._pod_lookup = pod_lookup
        self._on_change = on_change
        self._network = network
        self._settings = settings or ServiceSettings()
        self._snapshot = _PoolSnapshot()
        self._pool_changed = threading.Condition()  # notified by update_pool; guards nothing else
        # Calls for one attachment are serialised by the stripe its key hashes to.
        self._key_locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))
        # Writes ledger records while ADD does its kernel work (see add).
        self._committer = ThreadPoolExecutor(max_workers=_COMMIT_WORKERS, thread_name_prefix="ledger-commit")
        self._reaper = VethReaper(lambda name: self._network.delete_link(host_ifname=name),
                                  lock_for=lambda key: self._key_locks[hash(key) % _LOCK_STRIPES])

    @property
    def reaper(self) -> VethReaper:
        """Host veths of deleted pods waiting for deletion in the background."""
        return self._reaper

    def close(self, timeout: float = 5.0) -> None:
        """Deletes the veths still pending (within ``timeout``) and stops the background workers."""
        self._reaper.close(timeout)
        self._committer.shutdown(wait=True)

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def direct(self) -> DirectEniService | None:
        """The exclusive-ENI half, when this agent serves exclusive ENIs."""
        return self._direct

    def update_pool(self, pool: PoolView, tables: Mapping[str, int]) -> None:
        """Replaces the pool (from the NodeENIConfig status) and the route table of each set-up ENI by MAC."""
        with self._pool_changed:
            self._snapshot = _PoolSnapshot(pool=pool, tables=dict(tables))
            self._pool_changed.notify_all()

    def pool(self) -> PoolView:
        return self._snapshot.pool

    def tables(self) -> frozenset[int]:
        """The route tables of the ENIs set up on this node."""
        return frozenset(self._snapshot.tables.values())

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Holds off every ADD/DEL/Allocate/Release while the body runs (for node-wide clean-up)."""
        with contextlib.ExitStack() as stack:
            for lock in self._key_locks:  # NB: always in the same order, so two callers cannot deadlock
                stack.enter_context(lock)
            yield

    # --- IPAM ----------------------------------------------------------------------------------------

    def allocate(self, key: AttachmentKey, pod: PodRef) -> IpamResult:
        """An IP for the attachment (the same one on retry), durable before it is returned."""
        _validate_key(key)
        return self._waiting_for_static_ip(lambda: self._allocate(key, pod))

    def _allocate(self, key: AttachmentKey, pod: PodRef) -> IpamResult:
        with self._lock_for(key):
            snapshot = self._snapshot
            alloc = self._ledger.assign(key, pod, _ready(snapshot))
            self._changed()
            eni = snapshot.pool.eni_of(alloc.ip)
            log.info("Assigned IP", extra={"ip": str(alloc.ip), "container": key.container_id})
            table = snapshot.tables.get(alloc.eni_mac)
            if table is not None:
                # NB: the main plugin (e.g. ptp) makes the veth and the host route; the ENI's rules are ours.
                try:
                    self._network.ensure_rules([(alloc.ip, table)])
                except Exception as e:
                    self._undo_allocate(key, alloc)
                    self._changed()
                    raise NetworkSetupError(f"adding the policy rules of {alloc.ip} failed: {e}") from e
            if eni is None:
                return IpamResult(allocation=alloc, address=IPv4Interface(f"{alloc.ip}/32"),
                                  gateway=self._settings.gateway)
            # NB: main plugins such as ptp need a gateway inside the address's subnet and put it on the host end
            # of the pod's veth; the ENI's primary IP is the node's own address there (the VPC gateway is not).
            return IpamResult(allocation=alloc, address=IPv4Interface(f"{alloc.ip}/{eni.subnet.prefixlen}"),
                              gateway=eni.primary_ip)

    def release(self, key: AttachmentKey) -> Allocation | None:
        """Frees the attachment's IP into cooldown; None when it held none."""
        _validate_key(key)
        with self._lock_for(key):
            alloc = self._ledger.get(key)
            if alloc is None:
                return None
            try:
                self._network.remove_routes(ip=alloc.ip)
            except Exception as e:
                raise NetworkSetupError(f"removing the policy rules of {alloc.ip} failed: {e}") from e
            return self._released(self._ledger.release(key))

    # --- pod network ---------------------------------------------------------------------------------

    def add(self, request: PodRequest) -> AddResult:
        """Allocates (the same IP on retry) and plumbs the pod; returns only once the allocation is durable.

        The ledger record is written while the kernel work runs (both take milliseconds); if the agent dies in
        between, the runtime never saw a result and follows with DEL, which removes the attachment's veth even
        when the ledger does not know it.
        """
        _validate_key(request.key)
        _validate_netns(request.netns)
        mtu = self._mtu(request.mtu)
        if self._wants_direct(request):
            return self._waiting_for_static_ip(lambda: self._direct_add(request))
        return self._waiting_for_static_ip(lambda: self._add(request, mtu))

    def _wants_direct(self, request: PodRequest) -> bool:
        direct = self._direct
        if direct is None or self._ledger.get(request.key) is not None:
            return False
        if direct.ledger.get(request.key) is not None:
            return True
        return wants_direct_eni(request.key.network_name, request.pod, lookup=self._pod_lookup,
                                possible=direct.possible())

    def _direct_add(self, request: PodRequest) -> AddResult:
        assert self._direct is not None
        with self._lock_for(request.key):
            alloc = self._direct.add(request.key, request.pod, netns=request.netns)
        self._changed()
        interfaces = PodInterfaces(host_ifname="", host_mac="", container_ifname=request.key.ifname,
                                   container_mac=alloc.eni_mac)
        return AddResult(allocation=alloc, interfaces=interfaces, netns=request.netns, address=alloc.address,
                         gateway=alloc.gateway)

    def _add(self, request: PodRequest, mtu: int) -> AddResult:
        with self._lock_for(request.key):
            snapshot = self._snapshot
            alloc, durable = self._ledger.reserve(request.key, request.pod, _ready(snapshot))
            try:
                spec = self._spec(request, alloc, snapshot, mtu=mtu)
            except NetworkSetupError:
                # NB: nothing was plumbed; the allocation stays (it may be a running pod's, on a retried ADD).
                durable()
                self._changed()
                raise
            # NB: submitted only now, right before the kernel work: the saving thread's own Python then runs while
            # this one waits in a system call, instead of contending with it for the interpreter lock.
            saving = self._committer.submit(durable)
            try:
                # NB: a veth of this attachment still waiting for deletion would collide with the new one.
                self._reaper.flush(spec.host_ifname)
                interfaces = self._network.setup(spec)
            except Exception as e:
                _settle(saving)
                self._undo_add(request, alloc)
                raise NetworkSetupError(f"setting up the pod network for {alloc.ip} failed: {e}") from e
            try:
                saving.result(timeout=_COMMIT_TIMEOUT)
            except Exception:
                # The ledger forgot the IP, which another ADD may take at once: remove only our veth (its route
                # and neighbour go with it); its rules are the same for any holder of the IP, or GC'd as stale.
                try:
                    self._network.delete_link(host_ifname=spec.host_ifname)
                except Exception:
                    log.warning("Clean-up after a failed ledger save failed", exc_info=True)
                raise
            self._changed()
            return AddResult(allocation=alloc, interfaces=interfaces, netns=request.netns,
                             address=IPv4Interface(f"{alloc.ip}/32"), gateway=spec.gateway)

    def delete(self, request: PodRequest) -> Allocation | DirectAllocation | None:
        """Tears the attachment down and releases its IP; succeeds when there is nothing left to do.

        Returns once the pod's route and rules are gone and the release is durable; the host veth is deleted
        in the background (``reaper``): nothing routes to it any more, and its IP cools down before reuse.
        """
        _validate_key(request.key)
        if self._direct is not None and self._direct.ledger.get(request.key) is not None:
            with self._lock_for(request.key):
                gone = self._direct.delete(request.key, netns=request.netns)
            self._changed()
            return gone
        with self._lock_for(request.key):
            alloc = self._ledger.get(request.key)
            host_ifname = host_ifname_for(request.key.network_name, request.key.container_id, request.key.ifname)
            if alloc is None:
                # NB: a veth made by an ADD whose record never became durable (the agent died meanwhile).
                self._reaper.schedule(host_ifname, request.key)
                return None
            try:
                self._network.remove_routes(ip=alloc.ip)
            except Exception as e:
                # NB: the IP stays allocated so that nothing else gets it while its routes may remain.
                raise NetworkSetupError(f"tearing down the pod network of {alloc.ip} failed: {e}") from e
            released = self._released(self._ledger.release(request.key))
            self._reaper.schedule(host_ifname, request.key)
            return released

    def check(self, request: PodRequest) -> Allocation | DirectAllocation:
        _validate_key(request.key)
        _validate_netns(request.netns)
        mtu = self._mtu(request.mtu)
        if self._direct is not None and self._direct.ledger.get(request.key) is not None:
            return self._direct.check(request.key, netns=request.netns)
        alloc = self._ledger.get(request.key)
        if alloc is None:
            raise UnknownContainerError(f"no IP is allocated to container {request.key.container_id}")
        spec = self._spec(request, alloc, self._snapshot, mtu=mtu)
        try:
            problems = self._network.check(spec)
        except Exception as e:
            raise NetworkSetupError(f"checking the pod network of {alloc.ip} failed: {e}") from e
        if problems:
            raise CheckFailedError("; ".join(problems))
        return alloc

    # --- internals -----------------------------------------------------------------------------------

    def _waiting_for_static_ip(self, attempt: Callable[[], _T]) -> _T:
        """Runs ``attempt``; while it finds the pod's static IP pending, retries on each pool update until
        ``static_ip_wait`` ran out (then the last error stands). Waits hold no lock."""
        deadline = time.monotonic() + self._settings.static_ip_wait
        while True:
            snapshot = self._snapshot
            try:
                return attempt()
            except StaticIpPendingError:
                if not self._wait_for_pool_change(snapshot, deadline):
                    raise

    def _released(self, alloc: Allocation | None) -> Allocation | None:
        if alloc is not None:
            log.info("Released IP", extra={"ip": str(alloc.ip), "container": alloc.key.container_id})
            self._changed()
        return alloc

    def _changed(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change()
            except Exception:
                log.warning("Allocation change listener failed", exc_info=True)

    def _spec(self, request: PodRequest, alloc: Allocation, snapshot: _PoolSnapshot, *, mtu: int) -> PodSetup:
        table = snapshot.tables.get(alloc.eni_mac)
        if table is None:
            raise NetworkSetupError(f"ENI {alloc.eni_id} ({alloc.eni_mac}) of {alloc.ip} is not set up on this node")
        key = request.key
        return PodSetup(
            netns_path=request.netns,
            container_ifname=key.ifname,
            host_ifname=host_ifname_for(key.network_name, key.container_id, key.ifname),
            ip=alloc.ip,
            eni_table=table,
            mtu=mtu,
            gateway=self._settings.gateway,
        )

    def _undo_add(self, request: PodRequest, alloc: Allocation) -> None:
        host_ifname = host_ifname_for(request.key.network_name, request.key.container_id, request.key.ifname)
        try:
            self._network.teardown(host_ifname=host_ifname, ip=alloc.ip, netns_path=request.netns)
            self._ledger.release(request.key)
        except Exception:
            # The runtime follows a failed ADD with DEL, which retries this clean-up.
            log.warning("Clean-up after a failed ADD failed", exc_info=True)

    def _undo_allocate(self, key: AttachmentKey, alloc: Allocation) -> None:
        try:
            self._network.remove_routes(ip=alloc.ip)
            self._ledger.release(key)
        except Exception:
            # The runtime follows a failed ADD with DEL, which retries this clean-up.
            log.warning("Clean-up after a failed allocation failed", exc_info=True)

    def _wait_for_pool_change(self, seen: _PoolSnapshot, deadline: float) -> bool:
        """Whether the pool was replaced after ``seen`` by ``deadline`` (monotonic)."""
        with self._pool_changed:
            return self._pool_changed.wait_for(lambda: self._snapshot is not seen,
                                               timeout=max(0.0, deadline - time.monotonic()))

    def _mtu(self, requested: int) -> int:
        mtu = requested or self._settings.default_mtu
        if not 576 <= mtu <= 9001:
            raise InvalidRequestError(f"mtu {mtu} is outside 576..9001")
        return mtu

    def _lock_for(self, key: AttachmentKey) -> threading.Lock:
        return self._key_locks[hash(key) % _LOCK_STRIPES]


def _settle(future: Future[None]) -> None:
    """Waits for ``future``, whatever its outcome (a failed save already undid its reservation)."""
    try:
        future.result(timeout=_COMMIT_TIMEOUT)
    except Exception:
        log.debug("Ledger save after a failed ADD failed too", exc_info=True)


def _ready(snapshot: _PoolSnapshot) -> PoolView:
    """The pool restricted to the ENIs whose host side is set up (their route table is known)."""
    return PoolView(enis=tuple(e for e in snapshot.pool.enis if e.mac in snapshot.tables))


def _validate_key(key: AttachmentKey) -> None:
    if not _CONTAINER_ID.match(key.container_id):
        raise InvalidRequestError(f"invalid container id {key.container_id!r}")
    if not key.network_name:
        raise InvalidRequestError("the network name is empty")
    ifname = key.ifname
    if not ifname or len(ifname.encode()) > 15 or ifname in (".", "..") or _IFNAME_FORBIDDEN.search(ifname):
        raise InvalidRequestError(f"invalid interface name {ifname!r}")


def _validate_netns(netns: str) -> None:
    if not netns.startswith("/") or "\x00" in netns:
        raise InvalidRequestError(f"netns must be an absolute path, got {netns!r}")

