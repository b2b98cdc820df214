"""Settings and credentials of the Tencent adapter.

``TencentSettings`` is a frozen value the composition root builds from flags; ``Credentials`` comes
from the standard ``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY`` variables or an INI file in
the format of ``~/.tencentcloud/credentials``. Secrets never appear in ``repr``, logs or errors: the
loader names the source that was missing, never its content.

This module must never read the process environment on its own: the caller passes the mapping.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = ["CredentialsError", "Credentials", "TencentSettings", "load_credentials"]

SECRET_ID_VAR = "TENCENTCLOUD_SECRET_ID"
SECRET_KEY_VAR = "TENCENTCLOUD_SECRET_KEY"
SESSION_TOKEN_VAR = "TENCENTCLOUD_SESSION_TOKEN"

_DEFAULT_ACTION_QPS: Mapping[str, float] = MappingProxyType({"ReleaseAddresses": 10.0})
"""Documented per-action limits below the cluster default; other ENI/IP actions allow 100/s."""


class CredentialsError(ValueError):
    """No usable credentials were found; the message names the sources tried, never a secret."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A Tencent Cloud API key pair; ``repr`` never shows the secret or the token."""

    secret_id: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TencentSettings:
    """How the adapter reaches and paces the Tencent Cloud API."""

    region: str
    """API region, e.g. ``ap-guangzhou``."""
    cluster_id: str
    """Tags every created resource and salts every ClientToken, so two clusters never collide."""
    vpc_id: str = ""
    """The cluster's VPC; used as the default filter when listing subnets and ENIs."""
    endpoint: str | None = None
    """``host:port`` override (the emulator); switches the SDK to plain http against it."""
    qps: float = 50.0
    """Cloud calls per second for the whole adapter (the cluster's budget)."""
    burst: int = 10
    """Calls allowed at once before the cluster bucket starts pacing."""
    action_qps: Mapping[str, float] = field(default_factory=lambda: _DEFAULT_ACTION_QPS)
    """Per-action limits (action name -> calls/s); actions not listed get ``default_action_qps``."""
    default_action_qps: float = 100.0
    rate_limit_wait: float = 10.0
    """Longest a call waits for a rate-limit token before failing with ``Throttled``."""
    request_timeout: float = 10.0
    """HTTP timeout of one SDK request (connect and read), seconds."""
    retry_attempts: int = 5
    """Attempts per call, the first included, for retryable errors."""
    retry_initial_backoff: float = 0.2
    retry_max_backoff: float = 5.0
    retry_total_timeout: float = 30.0
    """No retry starts after this many seconds since the first attempt."""
    task_timeout: float = 60.0
    """Deadline for an asynchronous task to leave RUNNING."""
    task_poll_interval: float = 0.5
    describe_cache_ttl: float = 5.0
    """Seconds a describe reply is reused; 0 disables the caches."""
    limits_cache_ttl: float = 600.0
    """Seconds an instance's ENI limits are reused (they change only when the instance is resized)."""
    cluster_tag_key: str = "tke-clusterId"
    created_by_tag_key: str = "tke-createdBy"
    created_by_tag_value: str = "tke-eni-ipamd"

    def __post_init__(self) -> None:
        if not self.region:
            raise ValueError("region must not be empty")
        if not self.cluster_id:
            raise ValueError("cluster_id must not be empty")
        positive = {
            "qps": self.qps,
            "default_action_qps": self.default_action_qps,
            "request_timeout": self.request_timeout,
            "task_timeout": self.task_timeout,
            "task_poll_interval": self.task_poll_interval,
            "rate_limit_wait": self.rate_limit_wait,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.burst < 1 or self.retry_attempts < 1:
            raise ValueError("burst and retry_attempts must be at least 1")
        if any(rate <= 0 for rate in self.action_qps.values()):
            raise ValueError("every action_qps rate must be positive")
        if self.endpoint is not None and not _is_host_port(self.endpoint):
            raise ValueError(f"endpoint must be host:port, got {self.endpoint!r}")

    def qps_for(self, action: str) -> float:
        """The per-action rate limit of ``action``."""
        return self.action_qps.get(action, self.default_action_qps)


def _is_host_port(endpoint: str) -> bool:
    host, sep, port = endpoint.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


def load_credentials(env: Mapping[str, str], *, path: Path | None = None, profile: str = "default") -> Credentials:
    """Credentials from ``env`` (the standard variables) or else from the INI file ``path``.

    The file holds ``secret_id``/``secret_key`` (and optionally ``token``) in section ``profile``.
    """
    secret_id, secret_key = env.get(SECRET_ID_VAR, ""), env.get(SECRET_KEY_VAR, "")
    if secret_id and secret_key:
        return Credentials(secret_id, secret_key, env.get(SESSION_TOKEN_VAR) or None)
    if path is None:
        raise CredentialsError(f"set {SECRET_ID_VAR} and {SECRET_KEY_VAR}, or give a credentials file")
    parser = configparser.ConfigParser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as e:
        # NB: `from None`: parser errors quote the offending lines, which may hold the secret.
        raise CredentialsError(f"cannot read credentials file {path}: {type(e).__name__}") from None
    if not parser.has_section(profile):
        raise CredentialsError(f"credentials file {path} has no [{profile}] section")
    section = parser[profile]
    secret_id, secret_key = section.get("secret_id", ""), section.get("secret_key", "")
    if not (secret_id and secret_key):
        raise CredentialsError(f"credentials file {path} [{profile}] lacks secret_id or secret_key")
    return Credentials(secret_id.strip(), secret_key.strip(), (section.get("token") or "").strip() or None)
