"""tke-eni-ip-scheduler's settings: grouped frozen values, each validated on construction.

A settings object that exists is valid: every check runs in ``__post_init__`` and raises
``SettingsError`` naming the flag. ``from_flags`` builds the whole tree from the parsed command
line and the environment. The cloud group is optional: without ``--region`` the extender judges
subnet capacity from the cluster's objects only and never calls the cloud.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True, slots=True)
class ExtenderSettings:
    """The kube-scheduler extender's HTTP endpoint and filtering policy."""

    listen: BindAddress
    """Where kube-scheduler POSTs filter and prioritize requests."""
    only_nominated_subnets: bool
    """Subnets that pods nominate are reserved for those pods (as ipamd's flag of the same name)."""


@dataclass(frozen=True, slots=True)
class CloudSettings:
    """Read-only access to the cloud, to refresh subnets' free-IP counts in the background."""

    region: str
    """Region of the cluster, e.g. ``ap-guangzhou``."""
    cluster_id: str
    """The cluster id (``cls-...``) the cloud adapter tags and filters by."""
    credentials: Credentials = field(repr=False)
    """The API key pair; never shown."""
    endpoint: str | None = None
    """``host:port`` spoken to in plain http (the local emulator); None: Tencent Cloud's endpoints."""
    qps: float = 5.0
    """Cloud API calls per second (describe calls only)."""
    subnet_refresh_interval: timedelta = timedelta(seconds=30)
    """How often subnets' free-IP counts are refreshed in the background."""

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z]+-[a-z]+(-[a-z0-9]+)*$", self.region):
            raise SettingsError("--region", f"{self.region!r} is not a region such as ap-guangzhou")
        if not re.match(r"^cls-[0-9a-z]+$", self.cluster_id):
            raise SettingsError("--cluster-id", "is required with --region and looks like cls-...")
        if self.endpoint is not None:
            host, sep, port = self.endpoint.rpartition(":")
            if not (sep and host and "/" not in host and port.isdigit() and 0 < int(port) < 65536):
                raise SettingsError("--cloud-endpoint", f"{self.endpoint!r} is not HOST:PORT")
        if self.qps <= 0:
            raise SettingsError("--cloud-qps", "must be above 0")
        check_positive("--subnet-refresh-interval", self.subnet_refresh_interval)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """Everything tke-eni-ip-scheduler is configured with, by concern."""

    kube: KubeClientSettings
    extender: ExtenderSettings
    cloud: CloudSettings | None
    """None: no cloud access at all."""
    serving: ServingSettings
    logging: LoggingSettings


def cloud_from_flags(flags: Mapping[str, Any], *, env: Mapping[str, str]) -> CloudSettings | None:
    """The optional cloud group: all of it with --region, none of it (and no stray cloud flag) without."""
    if not flags["region"]:
        for flag, key in (("--cluster-id", "cluster_id"), ("--cloud-endpoint", "cloud_endpoint"),
                          ("--credentials-file", "credentials_file")):
            if flags[key]:
                raise SettingsError(flag, "has no effect without --region")
        return None
    # NB: imported here: the adapter loads the Tencent SDK, which --help and cloud-less runs do not need.
    from eni.cloud.tencent.settings import CredentialsError, load_credentials

    try:
        credentials = load_credentials(env, path=flags["credentials_file"])
    except CredentialsError as e:
        raise SettingsError("--credentials-file", f"no usable Tencent Cloud credentials: {e}") from None
    return CloudSettings(region=flags["region"], cluster_id=flags["cluster_id"], credentials=credentials,
                         endpoint=flags["cloud_endpoint"] or None, qps=flags["cloud_qps"],
                         subnet_refresh_interval=flags["subnet_refresh_interval"])


def from_flags(flags: Mapping[str, Any], *, env: Mapping[str, str]) -> SchedulerSettings:
    """Build and validate the settings from click's parsed flags (by parameter name) and the environment."""
    listen = BindAddress.parse(flags["listen"], flag="--listen")
    if listen is None:
        raise SettingsError("--listen", "the extender cannot be disabled")
    kubeconfig = flags["kubeconfig"]
    return SchedulerSettings(
        kube=KubeClientSettings(kubeconfig=Path(kubeconfig) if kubeconfig else None, qps=flags["kube_client_qps"],
                                burst=flags["kube_client_burst"]),
        extender=ExtenderSettings(listen=listen, only_nominated_subnets=flags["only_nominated_eni_subnets"]),
        cloud=cloud_from_flags(flags, env=env),
        serving=ServingSettings(
            metrics=BindAddress.parse(flags["metrics_bind_address"], flag="--metrics-bind-address"),
            health=BindAddress.parse(flags["health_probe_bind_address"], flag="--health-probe-bind-address"),
        ),
        logging=LoggingSettings(level=flags["log_level"], format=flags["log_format"]),
    )
