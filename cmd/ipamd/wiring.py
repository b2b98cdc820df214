"""Builds tke-eni-ipamd's concrete parts from validated settings and runs them.

``start`` connects to the API server (kubeconfig or in-cluster), builds the Tencent adapter from the
cloud settings (an endpoint override speaks plain http to the emulator), a Manager with leader
election on a Lease, and ipamd's controllers (node pools and leaked-resource GC, pod EIPs; with
``--mode static`` per-pod VpcIPClaims and exclusive ENIs instead of warm pools); it runs until SIGTERM/SIGINT (exit 0)
or until the lease is lost or a part fails (exit 1). This module only assembles; it decides nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from eni.cli.logs import TEXT_FORMAT, configure_logging
from eni.runtime.log import KeyValueFormatter

from .settings import IpamdSettings, PoolMode

FAILED_STATUS = 1


def kube_api_client(settings: IpamdSettings) -> Any:
    """A kubernetes ApiClient from --kubeconfig, or the in-cluster service account."""
    import kubernetes.client
    import kubernetes.config

    if settings.kube.kubeconfig is not None:
        return kubernetes.config.new_client_from_config(config_file=str(settings.kube.kubeconfig))  # type: ignore[no-untyped-call]
    kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    return kubernetes.client.ApiClient()


def build(settings: IpamdSettings) -> Any:
    """The Manager with ipamd's controllers added, not started."""
    from prometheus_client import CollectorRegistry

    from eni.cloud.tencent import TencentSettings, TencentVpc
    from eni.controllers.eip import EipSettings
    from eni.controllers.eip import setup as add_eip_controller
    from eni.controllers.nodepool.config import PoolConfig
    from eni.controllers.setup import IpamdConfig, add_ipamd_controllers
    from eni.controllers.static.claims import ClaimSettings
    from eni.controllers.static.config import StaticConfig
    from eni.runtime.leaderelection.elector import LeaderElectionSettings
    from eni.runtime.manager import LeaseName, Manager, ManagerSettings

    registry = CollectorRegistry()
    election = settings.leader_election
    health = settings.serving.health
    manager = Manager.for_api_client(
        kube_api_client(settings),
        settings=ManagerSettings(
            health_host=(health.host or "0.0.0.0") if health else "127.0.0.1",
            health_port=health.port if health else None,
            leader_election=LeaderElectionSettings(
                lease_duration=election.lease_duration.total_seconds(),
                renew_deadline=election.renew_deadline.total_seconds(),
                retry_period=election.retry_period.total_seconds()),
        ),
        lease=LeaseName(namespace=election.namespace, name=election.name, identity=election.identity)
        if election.enabled else None,
        qps=settings.kube.qps, burst=settings.kube.burst, registry=registry,
    )
    cloud = TencentSettings(region=settings.cloud.region, cluster_id=settings.cloud.cluster_id,
                            vpc_id=settings.cloud.vpc_id, endpoint=settings.cloud.endpoint, qps=settings.cloud.qps,
                            request_timeout=settings.cloud.request_timeout.total_seconds())
    vpc = TencentVpc.from_settings(cloud, settings.cloud.credentials, registry=registry)
    pool = settings.pool
    add_ipamd_controllers(manager, vpc, IpamdConfig(
        pool=PoolConfig(subnet_ids=pool.subnet_ids, ip_warm=pool.ip_warm, eni_warm=pool.eni_warm,
                        quick_release=pool.quick_release, enable_ownerref=settings.claims.enable_ownerref,
                        release_interval=pool.release_interval.total_seconds(),
                        security_groups_enabled=settings.security_groups.enabled,
                        security_group_ids=settings.security_groups.group_ids,
                        node_condition=settings.node_report.enable_condition,
                        node_taint=settings.node_report.enable_taint,
                        static=StaticConfig(only_nominated_subnets=settings.claims.only_nominated_subnets)
                        if pool.mode is PoolMode.STATIC else None),
        claims=ClaimSettings(enable_ownerref=settings.claims.enable_ownerref,
                             claim_expired_duration=settings.claims.expired_duration),
        cluster_tags={cloud.cluster_tag_key: cloud.cluster_id},
        gc_interval=settings.gc.interval.total_seconds(), gc_grace=settings.gc.grace.total_seconds(),
    ))
    add_eip_controller(manager, vpc=vpc, settings=EipSettings(
        cluster_id=settings.cloud.cluster_id, enable_ownerref=settings.claims.enable_ownerref,
        claim_expired_duration=settings.claims.expired_duration))
    return manager


def serve_metrics(settings: IpamdSettings, registry: Any) -> Callable[[], None]:
    """Serve /metrics on --metrics-bind-address when it is set and differs from the health address
    (which serves /metrics as well); returns the function that stops it."""
    from prometheus_client import start_http_server

    metrics, health = settings.serving.metrics, settings.serving.health
    if metrics is None or metrics == health:
        return lambda: None
    server, thread = start_http_server(metrics.port, addr=metrics.host or "0.0.0.0", registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5.0)

    return stop


def start(settings: IpamdSettings, *, stop: threading.Event | None = None) -> int:
    """Run until stopped; returns the process exit status."""
    configure_logging(level=settings.logging.level, fmt=settings.logging.format,
                      text_formatter=KeyValueFormatter(TEXT_FORMAT))
    try:
        manager = build(settings)
    except Exception as e:  # a bad kubeconfig or unreachable config must end with a message, not a trace
        print(f"tke-eni-ipamd: cannot start: {type(e).__name__}: {e}", file=sys.stderr)
        return FAILED_STATUS
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        stop_metrics = serve_metrics(settings, manager.metrics.registry)
    except OSError as e:
        print(f"tke-eni-ipamd: cannot serve metrics on {settings.serving.metrics}: {e}", file=sys.stderr)
        return FAILED_STATUS
    try:
        status: int = manager.start(stop)
    finally:
        stop_metrics()
    return status
