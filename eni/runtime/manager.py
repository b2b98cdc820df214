"""The Manager runs a process's pieces in controller-runtime's order and stops them in reverse.

Start: health/metrics HTTP → informer caches (wait for sync) → runnables that do not need leadership →
leader election → leader runnables (controllers). Stop, on the stop Event: leader runnables → election →
other runnables → caches → HTTP. ``start`` returns the process exit code: 0 after a requested stop, 1 when the
lease was lost, a cache failed to sync, or a runnable failed. The elector reports a lost lease no later than
renew_deadline after the start of its last successful renewal; ``start`` then returns even if runnables ignore
their stop Event (each thread is waited for at most ``LOST_LEASE_SHUTDOWN_SECONDS``). There is no fencing, so
the process must be gone before another replica can take the lease (lease_duration after that renewal).
The manager owns threads only; it never reads flags or the environment (``cmd`` does).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry

from eni.runtime import log as kvlog
from eni.runtime.cache.cache import InformerCache
from eni.runtime.client.interfaces import Client
from eni.runtime.client.kube import KubeClient
from eni.runtime.client.transport import KubeTransport
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.events import EventRecorder
from eni.runtime.healthz import Checker, HealthServer
from eni.runtime.leaderelection.elector import Elector, LeaderElectionSettings
from eni.runtime.leaderelection.lease_lock import KubeLeaseLock, LeaseLock
from eni.runtime.metrics import RuntimeMetrics

if TYPE_CHECKING:
    from kubernetes.client import ApiClient  # imported where one is built: processes without it stay light

log = kvlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1

LOST_LEASE_SHUTDOWN_SECONDS = 1.0
"""How long each runnable's thread is waited for once the lease is lost (they are daemons: the process exits)."""


class Runnable(Protocol):
    """Something the manager runs: ``start`` blocks until ``stop`` is set (raising means failure)."""

    def start(self, stop: threading.Event) -> None: ...


class RunnableFunc:
    """A Runnable from a function; ``need_leader_election`` says which group it joins."""

    def __init__(self, fn: Callable[[threading.Event], None], *, need_leader_election: bool = False) -> None:
        self._fn = fn
        self._leader = need_leader_election

    def start(self, stop: threading.Event) -> None:
        self._fn(stop)

    def need_leader_election(self) -> bool:
        return self._leader


def needs_leader_election(runnable: Runnable) -> bool:
    """A runnable's ``need_leader_election()``; True when it does not say (controller-runtime's default)."""
    method = getattr(runnable, "need_leader_election", None)
    return bool(method()) if callable(method) else True


@dataclass(frozen=True, slots=True)
class ManagerSettings:
    health_host: str = "127.0.0.1"
    """Where /healthz, /readyz and /metrics listen; loopback unless cmd says otherwise."""
    health_port: int | None = 0
    """Port of the health/metrics server; 0 picks a free one, None disables the server."""
    cache_sync_timeout: float = 120.0
    """Seconds to wait for the informers' first lists before giving up (exit 1)."""
    graceful_shutdown_timeout: float = 30.0
    """Seconds each group gets to stop before the manager moves on."""
    leader_election: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)


@dataclass(frozen=True, slots=True)
class LeaseName:
    """Which Lease the candidates compete for, and who this process is."""

    namespace: str
    name: str
    identity: str


class _Group:
    """Runnables started and stopped together, each on its own thread."""

    def __init__(self, name: str, on_failure: Callable[[str, BaseException], None]) -> None:
        self.name = name
        self.stop = threading.Event()
        self._on_failure = on_failure
        self._threads: list[threading.Thread] = []

    def start(self, runnables: list[Runnable]) -> None:
        for runnable in runnables:
            thread = threading.Thread(target=self._run, args=(runnable,), name=f"{self.name}-{type(runnable).__name__}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, runnable: Runnable) -> None:
        try:
            runnable.start(self.stop)
        except Exception as e:
            self._on_failure(type(runnable).__name__, e)

    def shut_down(self, timeout: float) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)


class Manager:
    """Owns the cache, the client, the metrics registry, health endpoints, leader election and runnables."""

    def __init__(
        self,
        *,
        cache: InformerCache,
        client: Client | None = None,
        lease_lock: LeaseLock | None = None,
        settings: ManagerSettings = ManagerSettings(),
        clock: Clock = REAL_CLOCK,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if lease_lock is not None:
            settings.leader_election.validate()
        self.cache = cache
        self.client = client
        self.settings = settings
        self.clock = clock
        self.metrics = RuntimeMetrics(registry)
        self.health = HealthServer(self.metrics.registry, host=settings.health_host, port=settings.health_port or 0)
        self._lease_lock = lease_lock
        self._runnables: list[Runnable] = []
        self._leader_runnables: list[Runnable] = []
        self._wake = threading.Event()
        self._failure: str | None = None
        self._lost_lease = threading.Event()
        self.elector: Elector | None = None
        self._owned_api_clients: list[ApiClient] = []
        self._started = False
        self.health.add_readyz_check("informers", self._check_synced)

    @classmethod
    def for_api_client(
        cls,
        api_client: ApiClient,
        *,
        settings: ManagerSettings = ManagerSettings(),
        lease: LeaseName | None = None,
        resync_period: float = 0.0,
        qps: float = 50.0,
        burst: int = 100,
        registry: CollectorRegistry | None = None,
    ) -> Manager:
        """A manager wired to a real API server: KubeClient, shared informers and (with ``lease``) a Lease lock."""
        transport = KubeTransport(api_client)
        client = KubeClient(transport, qps=qps, burst=burst)
        lock = None
        if lease is not None:
            # Its own connections: renewals must not queue behind the reconcilers' QPS budget or connection pool.
            # The elector gives each request the time left until its renew deadline; the transport's default is
            # only a ceiling.
            lease_api = _lease_api_client(api_client)
            lease_transport = KubeTransport(lease_api, timeout=settings.leader_election.renew_deadline)
            lease_client = KubeClient(lease_transport, qps=5.0, burst=10)
            lock = KubeLeaseLock(lease_client, namespace=lease.namespace, name=lease.name, identity=lease.identity)
        manager = cls(
            cache=InformerCache.over(transport, resync_period=resync_period),
            client=client,
            lease_lock=lock,
            settings=settings,
            registry=registry,
        )
        if lease is not None:
            manager._owned_api_clients.append(lease_api)
        return manager

    def add(self, runnable: Runnable) -> None:
        """Run ``runnable`` in its group (leader or not, from its ``need_leader_election``)."""
        (self._leader_runnables if needs_leader_election(runnable) else self._runnables).append(runnable)

    def event_recorder(self, component: str, *, host: str = "") -> EventRecorder:
        """An EventRecorder writing through the manager's client, flushed and closed when the manager stops."""
        if self.client is None:
            raise ValueError("the manager has no client to write Events with")
        recorder = EventRecorder(self.client, component=component, host=host, clock=self.clock)
        self.add(recorder)
        return recorder

    def add_healthz_check(self, name: str, checker: Checker) -> None:
        self.health.add_healthz_check(name, checker)

    def add_readyz_check(self, name: str, checker: Checker) -> None:
        self.health.add_readyz_check(name, checker)

    def _check_synced(self) -> None:
        if not self.cache.has_synced():
            raise RuntimeError("informers have not synced")

    def _fail(self, what: str, error: BaseException) -> None:
        log.error("Runnable failed", runnable=what, error=str(error))
        self._failure = self._failure or f"{what}: {error}"
        self._wake.set()

    def start(self, stop: threading.Event) -> int:
        """Run everything until ``stop`` is set or something fails; return the exit code. Call it once."""
        if self._started:
            raise RuntimeError("a manager can be started only once")
        self._started = True
        timeout = self.settings.graceful_shutdown_timeout
        if self.settings.health_port is not None:
            self.health.start()
            log.info("Serving health and metrics", url=self.health.url)
        caches = _Group("cache", self._fail)
        others = _Group("runnable", self._fail)
        leaders = _Group("leader", self._fail)
        election = _Group("election", self._fail)
        try:
            caches.start([self.cache])
            if not self.cache.wait_for_sync(self.settings.cache_sync_timeout, stop):
                if stop.is_set():
                    return EXIT_OK
                log.error("Informers did not sync", timeout=self.settings.cache_sync_timeout)
                return EXIT_FAILED
            others.start(self._runnables)
            if self._lease_lock is None:
                leaders.start(self._leader_runnables)
            else:
                self.elector = self._make_elector(leaders)
                self.health.add_healthz_check("leader-election", self.elector.check)
                election.start([_ElectorRunnable(self.elector)])
            while not stop.is_set() and not self._wake.is_set():
                self._wake.wait(0.5)
                if stop.is_set():
                    break
            if self._lost_lease.is_set():
                # Another replica may lead from lease_duration - renew_deadline from now: stop within that margin.
                timeout = min(timeout, LOST_LEASE_SHUTDOWN_SECONDS)
                log.error("Leader election lost; exiting")
                return EXIT_FAILED  # the groups stop below, leader runnables first
            leaders.shut_down(timeout)
            return EXIT_FAILED if self._failure else EXIT_OK
        finally:
            leaders.shut_down(timeout)
            election.shut_down(timeout)
            others.shut_down(timeout)
            caches.shut_down(timeout)
            self.health.stop()
            for api_client in self._owned_api_clients:
                api_client.rest_client.pool_manager.clear()
                api_client.close()  # type: ignore[no-untyped-call]

    def _make_elector(self, leaders: _Group) -> Elector:
        assert self._lease_lock is not None
        gauge = self.metrics.leader(self._lease_lock.describe())

        def started() -> None:
            gauge.set(1)
            leaders.start(self._leader_runnables)

        def stopped() -> None:
            gauge.set(0)
            self._lost_lease.set()
            self._wake.set()

        return Elector(
            self._lease_lock,
            settings=self.settings.leader_election,
            on_started_leading=started,
            on_stopped_leading=stopped,
            clock=self.clock,
        )


def _lease_api_client(api_client: ApiClient) -> ApiClient:
    """A separate ApiClient for the Lease whose requests urllib3 never retries.

    A retried renewal could outlive the time the elector allowed it (each retry restarts the timeout).
    """
    from kubernetes.client import ApiClient

    configuration = copy.deepcopy(api_client.configuration)
    configuration.retries = False
    return ApiClient(configuration)


class _ElectorRunnable:
    def __init__(self, elector: Elector) -> None:
        self._elector = elector

    def start(self, stop: threading.Event) -> None:
        self._elector.run(stop)
