"""tke-eni-ipamd's settings: grouped frozen values, each validated on construction.

A settings object that exists is valid: every check (ranges, min <= max, lease timings, id and
address shapes, credentials present) runs in ``__post_init__`` and raises ``SettingsError`` naming
the flag. ``from_flags`` builds the whole tree from the parsed command line and the environment;
it is the only place that loads the Tencent Cloud credentials (with the cloud adapter's own
loader), and no repr of these settings ever shows them.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eni.api.v1.constants import MIN_CLAIM_EXPIRED_DURATION, WarmTargets
from eni.cli.settings import (
    BindAddress,
    KubeClientSettings,
    LoggingSettings,
    ServingSettings,
    SettingsError,
    check_positive,
)

if TYPE_CHECKING:
    from eni.cloud.tencent.settings import Credentials


def check_ids(flag: str, ids: tuple[str, ...], prefix: str) -> None:
    """Every id looks like ``<prefix>-<lowercase alphanumerics>`` and none repeats."""
    pattern = re.compile(rf"^{prefix}-[0-9a-z]+$")
    for item in ids:
        if not pattern.match(item):
            raise SettingsError(flag, f"{item!r} is not a {prefix} id ({prefix}-...)")
    if len(set(ids)) != len(ids):
        raise SettingsError(flag, "an id is listed twice")


@dataclass(frozen=True, slots=True)
class CloudSettings:
    """Where and as whom to call the Tencent Cloud VPC and CVM APIs."""

    region: str
    """Region of the cluster, e.g. ``ap-guangzhou``."""
    vpc_id: str
    """The cluster's VPC (``vpc-...``)."""
    cluster_id: str
    """Tags every created resource, so leaked-resource GC only ever touches this cluster's."""
    credentials: Credentials = field(repr=False)
    """The API key pair; never shown."""
    endpoint: str | None = None
    """``host:port`` spoken to in plain http (the local emulator); None: Tencent Cloud's endpoints."""
    qps: float = 50.0
    """Budget of cloud API calls per second for the whole cluster."""
    request_timeout: timedelta = timedelta(seconds=10)
    """Timeout of one cloud API request."""

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z]+-[a-z]+(-[a-z0-9]+)*$", self.region):
            raise SettingsError("--region", f"{self.region!r} is not a region such as ap-guangzhou")
        check_ids("--vpc-id", (self.vpc_id,), "vpc")
        check_ids("--cluster-id", (self.cluster_id,), "cls")
        if self.endpoint is not None:
            host, sep, port = self.endpoint.rpartition(":")
            if not (sep and host and "/" not in host and port.isdigit() and 0 < int(port) < 65536):
                raise SettingsError("--cloud-endpoint", f"{self.endpoint!r} is not HOST:PORT")
        if self.qps <= 0:
            raise SettingsError("--cloud-qps", "must be above 0")
        check_positive("--cloud-request-timeout", self.request_timeout)


def load_credentials(*, env: Mapping[str, str], credentials_file: Path | None) -> Credentials:
    """The cloud adapter's credential loader (environment first, then the file), with flag-named errors.

    Imported here, not at the top: the adapter loads the Tencent SDK, which --help does not need.
    """
    from eni.cloud.tencent.settings import CredentialsError
    from eni.cloud.tencent.settings import load_credentials as load

    try:
        return load(env, path=credentials_file)
    except CredentialsError as e:
        raise SettingsError("--credentials-file", f"no usable Tencent Cloud credentials: {e}") from None


class PoolMode(StrEnum):
    """How pods get their IPs."""

    NON_STATIC = "non-static"
    """Each node keeps a warm pool of IPs; a pod gets any of them."""
    STATIC = "static"
    """IPs are claimed per pod (VpcIPClaim) and may outlive it; no warm pool."""


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """How IPs and exclusive ENIs are kept ready on nodes."""

    mode: PoolMode
    """Warm pools per node (non-static) or claims per pod (static)."""
    subnet_ids: tuple[str, ...]
    """Subnets for pod ENIs; each node uses those of its own zone."""
    ip_warm: WarmTargets
    """Default idle-IP window per node; NodeENIConfig annotations override it."""
    eni_warm: WarmTargets
    """Default idle exclusive-ENI window per node; NodeENIConfig annotations override it."""
    quick_release: bool
    """Release all surplus IPs at each tick instead of one."""
    release_interval: timedelta
    """The release tick: how often surplus idle IPs are given back."""

    def __post_init__(self) -> None:
        if not self.subnet_ids:
            raise SettingsError("--subnets", "name at least one subnet for pod ENIs")
        check_ids("--subnets", self.subnet_ids, "subnet")
        for kind, warm in (("ip", self.ip_warm), ("eni", self.eni_warm)):
            if warm.min < 0 or warm.max < 0:
                raise SettingsError(f"--{kind}-min-warm-target", "warm targets must be >= 0")
            if warm.min > warm.max:
                raise SettingsError(f"--{kind}-min-warm-target",
                                    f"must not exceed --{kind}-max-warm-target ({warm.max})")
        check_positive("--release-interval", self.release_interval)


@dataclass(frozen=True, slots=True)
class ClaimSettings:
    """Static IPs and EIPs that outlive their pods."""

    expired_duration: timedelta | None
    """None: retained claims never expire."""
    enable_ownerref: bool
    """Claims are owned by the pod's workload and collected with it."""
    only_nominated_subnets: bool
    """Subnets that pods nominate are reserved for those pods."""

    def __post_init__(self) -> None:
        if self.expired_duration is not None and self.expired_duration < MIN_CLAIM_EXPIRED_DURATION:
            raise SettingsError("--claim-expired-duration", "must be at least 5m")


@dataclass(frozen=True, slots=True)
class SecurityGroupSettings:
    """Security groups of the nodes' ENIs."""

    enabled: bool
    """Whether ipamd binds security groups at all."""
    group_ids: tuple[str, ...]
    """In order; empty: inherit the instance's groups in order."""

    def __post_init__(self) -> None:
        if self.group_ids and not self.enabled:
            raise SettingsError("--security-groups", "has no effect without --enable-security-groups")
        check_ids("--security-groups", self.group_ids, "sg")


@dataclass(frozen=True, slots=True)
class NodeReportSettings:
    """How ENI/IP trouble shows on the Node object."""

    enable_condition: bool
    """Report it as a Node condition."""
    enable_taint: bool
    """Taint the Node while it cannot get ENIs or IPs."""


@dataclass(frozen=True, slots=True)
class GCSettings:
    """Leaked-resource garbage collection."""

    interval: timedelta
    """How often the cloud's ENIs and IPs are compared with the cluster's objects."""
    grace: timedelta
    """How long an unknown, unattached ENI is left alone before it is deleted."""

    def __post_init__(self) -> None:
        check_positive("--gc-interval", self.interval)
        check_positive("--gc-grace", self.grace)


@dataclass(frozen=True, slots=True)
class LeaderElectionSettings:
    """Lease-based leader election (client-go semantics: lease > renew > 1.2 x retry > 0)."""

    enabled: bool
    """False runs every replica as leader: only for a single replica."""
    lease_duration: timedelta
    """How long a lease lasts without renewal."""
    renew_deadline: timedelta
    """How long the leader retries renewing before it gives up and the process exits."""
    retry_period: timedelta
    """Pause between attempts to acquire or renew."""
    namespace: str
    """Namespace of the Lease."""
    name: str
    """Name of the Lease."""
    identity: str
    """This replica's holder identity in the Lease."""

    def __post_init__(self) -> None:
        check_positive("--leader-elect-retry-period", self.retry_period)
        if not self.renew_deadline > self.retry_period * 1.2:
            raise SettingsError("--leader-elect-renew-deadline",
                                "must be longer than 1.2 x --leader-elect-retry-period")
        if not self.lease_duration > self.renew_deadline:
            raise SettingsError("--leader-elect-lease-duration", "must be longer than --leader-elect-renew-deadline")
        for flag, value in (("--leader-elect-resource-namespace", self.namespace),
                            ("--leader-elect-resource-name", self.name)):
            if not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", value) or len(value) > 253:
                raise SettingsError(flag, f"{value!r} is not a valid object name")
        if not self.identity:
            raise SettingsError("--leader-elect-identity", "must not be empty")


@dataclass(frozen=True, slots=True)
class IpamdSettings:
    """Everything tke-eni-ipamd is configured with, by concern."""

    kube: KubeClientSettings
    cloud: CloudSettings
    pool: PoolSettings
    claims: ClaimSettings
    security_groups: SecurityGroupSettings
    node_report: NodeReportSettings
    gc: GCSettings
    leader_election: LeaderElectionSettings
    serving: ServingSettings
    logging: LoggingSettings = field(default_factory=lambda: LoggingSettings(level="info", format="json"))


def from_flags(flags: Mapping[str, Any], *, env: Mapping[str, str]) -> IpamdSettings:
    """Build and validate the settings from click's parsed flags (by parameter name) and the environment."""
    kubeconfig = flags["kubeconfig"]
    return IpamdSettings(
        kube=KubeClientSettings(kubeconfig=Path(kubeconfig) if kubeconfig else None, qps=flags["kube_client_qps"],
                                burst=flags["kube_client_burst"]),
        cloud=CloudSettings(
            region=flags["region"], vpc_id=flags["vpc_id"], cluster_id=flags["cluster_id"],
            endpoint=flags["cloud_endpoint"] or None, qps=flags["cloud_qps"],
            request_timeout=flags["cloud_request_timeout"],
            credentials=load_credentials(env=env, credentials_file=flags["credentials_file"]),
        ),
        pool=PoolSettings(
            mode=PoolMode(flags["mode"]), subnet_ids=flags["subnets"],
            ip_warm=WarmTargets(min=flags["ip_min_warm_target"], max=flags["ip_max_warm_target"]),
            eni_warm=WarmTargets(min=flags["eni_min_warm_target"], max=flags["eni_max_warm_target"]),
            quick_release=flags["enable_quick_release"], release_interval=flags["release_interval"],
        ),
        claims=ClaimSettings(expired_duration=flags["claim_expired_duration"],
                             enable_ownerref=flags["enable_ownerref"],
                             only_nominated_subnets=flags["only_nominated_eni_subnets"]),
        security_groups=SecurityGroupSettings(enabled=flags["enable_security_groups"],
                                              group_ids=flags["security_groups"]),
        node_report=NodeReportSettings(enable_condition=flags["enable_node_condition"],
                                       enable_taint=flags["enable_node_taint"]),
        gc=GCSettings(interval=flags["gc_interval"], grace=flags["gc_grace"]),
        leader_election=LeaderElectionSettings(
            enabled=flags["leader_elect"], lease_duration=flags["leader_elect_lease_duration"],
            renew_deadline=flags["leader_elect_renew_deadline"], retry_period=flags["leader_elect_retry_period"],
            namespace=flags["leader_elect_resource_namespace"], name=flags["leader_elect_resource_name"],
            identity=flags["leader_elect_identity"] or socket.gethostname(),
        ),
        serving=ServingSettings(
            metrics=BindAddress.parse(flags["metrics_bind_address"], flag="--metrics-bind-address"),
            health=BindAddress.parse(flags["health_probe_bind_address"], flag="--health-probe-bind-address"),
        ),
        logging=LoggingSettings(level=flags["log_level"], format=flags["log_format"]),
    )
