"""Builds tke-eni-ip-scheduler's concrete parts from validated settings and runs them.

``start`` connects to the API server (kubeconfig or in-cluster), builds a Manager (no leader election: every
replica answers, the extender only reads) whose informers feed the extender's ClusterIndex, picks the subnet
capacity source (the Tencent adapter's ``describe_subnets`` refreshed in the background with --region, the
cluster's own objects without), and serves the extender once the caches synced. It runs until SIGTERM/SIGINT
(exit 0) or until a part fails (exit 1); a configuration it cannot use ends with a message and exit 1.
This module only assembles; it decides nothing about scheduling.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from eni.cli.logs import TEXT_FORMAT, configure_logging
from eni.runtime.log import KeyValueFormatter

from .settings import SchedulerSettings

if TYPE_CHECKING:
    from eni.runtime.healthz import HealthServer
    from eni.runtime.manager import Manager
    from eni.scheduler import ClusterIndex, ExtenderServer

FAILED_STATUS = 1
SYNC_POLL_SECONDS = 0.2

log = logging.getLogger("tke_eni_ip_scheduler")


def kube_api_client(settings: SchedulerSettings) -> Any:
    """A kubernetes ApiClient from --kubeconfig, or the in-cluster service account."""
    import kubernetes.client
    import kubernetes.config

    path = settings.kube.kubeconfig
    try:
        if path is not None:
            return kubernetes.config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except Exception as e:  # the client raises its own ConfigException or OSError
        source = f"kubeconfig {path}" if path is not None else "the in-cluster service account (no --kubeconfig)"
        raise KubeConfigError(f"cannot use {source}: {e}") from e
    return kubernetes.client.ApiClient()


class KubeConfigError(RuntimeError):
    """Neither the kubeconfig nor the in-cluster configuration can be used."""


@dataclass
class Program:
    """Everything ``start`` runs, built but not started."""

    manager: Manager
    index: ClusterIndex
    server: ExtenderServer
    metrics_server: HealthServer | None


def build(settings: SchedulerSettings) -> Program:
    """The manager with the extender's index, subnet source and server added, not started."""
    from prometheus_client import CollectorRegistry

    from eni.runtime.healthz import HealthServer
    from eni.runtime.manager import Manager, ManagerSettings, RunnableFunc
    from eni.scheduler import (
        CloudSubnets,
        ClusterIndex,
        ClusterSubnets,
        Extender,
        ExtenderMetrics,
        ExtenderServer,
        SubnetCapacity,
    )

    registry = CollectorRegistry()
    health = settings.serving.health
    manager = Manager.for_api_client(
        kube_api_client(settings),
        settings=ManagerSettings(health_host=health.host if health else "127.0.0.1",
                                 health_port=health.port if health else None),
        qps=settings.kube.qps, burst=settings.kube.burst, registry=registry,
    )
    index = ClusterIndex()
    index.watch(manager.cache, pods=settings.extender.only_nominated_subnets)
    manager.add_readyz_check("extender-index", lambda: _check(index.has_synced(), "the extender's index has not "
                                                                                  "synced"))
    subnets: SubnetCapacity
    if settings.cloud is None:
        subnets = ClusterSubnets(index)
    else:
        refresher: CloudSubnets = cloud_subnets(settings, index, registry)
        manager.add(RunnableFunc(refresher.run, need_leader_election=False))
        subnets = refresher
    manager.add(RunnableFunc(lambda stop: freeze_after_sync(index, stop), need_leader_election=False))
    extender = Extender(index, subnets, only_nominated_subnets=settings.extender.only_nominated_subnets)
    listen = settings.extender.listen
    server = ExtenderServer(extender, host=listen.host, port=listen.port, metrics=ExtenderMetrics(registry))
    manager.add(server)
    metrics = settings.serving.metrics
    metrics_server = None
    if metrics is not None and metrics != health:
        metrics_server = HealthServer(registry, host=metrics.host, port=metrics.port)
    return Program(manager=manager, index=index, server=server, metrics_server=metrics_server)


def cloud_subnets(settings: SchedulerSettings, index: ClusterIndex, registry: Any) -> Any:
    """CloudSubnets over the Tencent adapter (describe calls only, paced by --cloud-qps)."""
    from eni.cloud.tencent import TencentSettings, TencentVpc
    from eni.scheduler import CloudSubnets

    cloud = settings.cloud
    assert cloud is not None
    vpc = TencentVpc.from_settings(
        TencentSettings(region=cloud.region, cluster_id=cloud.cluster_id, endpoint=cloud.endpoint, qps=cloud.qps,
                        burst=max(1, int(cloud.qps))),
        cloud.credentials, registry=registry)
    return CloudSubnets(vpc, index, interval=cloud.subnet_refresh_interval.total_seconds(), registry=registry)


def freeze_after_sync(index: ClusterIndex, stop: threading.Event) -> None:
    """Once the index has its initial lists, move every object allocated so far out of the cyclic GC's scans.

    With 100,000 cached objects a full collection takes tens of milliseconds, and one landing in a filter call
    would blow the latency budget; the cached objects are long-lived and acyclic, so scanning them is wasted.
    """
    while not stop.is_set() and not index.has_synced():
        stop.wait(SYNC_POLL_SECONDS)
    if not stop.is_set():
        gc.collect()
        gc.freeze()
        log.info("Extender index synced", extra={"kv": {"nodes": len(index.nodes)}})


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise RuntimeError(problem)


def start(settings: SchedulerSettings, *, stop: threading.Event | None = None) -> int:
    """Serve until stopped; returns the process exit status."""
    configure_logging(level=settings.logging.level, fmt=settings.logging.format,
                      text_formatter=KeyValueFormatter(TEXT_FORMAT))
    try:
        program = build(settings)
    except Exception as e:  # a bad kubeconfig or cloud setting must end with a message, not a trace
        print(f"tke-eni-ip-scheduler: cannot start: {type(e).__name__}: {e}", file=sys.stderr)
        return FAILED_STATUS
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    if program.metrics_server is not None:
        try:
            program.metrics_server.start()
        except OSError as e:
            print(f"tke-eni-ip-scheduler: cannot serve metrics: {e}", file=sys.stderr)
            return FAILED_STATUS
        log.info("Serving metrics", extra={"kv": {"url": program.metrics_server.url + "/metrics"}})
    try:
        status: int = program.manager.start(stop)
    finally:
        if program.metrics_server is not None:
            program.metrics_server.stop()
    return status
