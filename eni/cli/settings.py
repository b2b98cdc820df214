"""Settings values every program shares: the flag error, listen addresses, kube client, serving and logging.

Each value is frozen and checked in ``__post_init__``; a bad value raises ``SettingsError`` naming the flag.
Never reads flags or the environment: each program's ``from_flags`` builds these from what click parsed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path


class SettingsError(ValueError):
    """A flag's value is unusable; ``flag`` names it for the error message."""

    def __init__(self, flag: str, problem: str) -> None:
        self.flag = flag
        self.problem = problem
        super().__init__(f"{flag}: {problem}")


def check_positive(flag: str, value: timedelta) -> None:
    if value <= timedelta(0):
        raise SettingsError(flag, "must be longer than 0s")


@dataclass(frozen=True, slots=True)
class BindAddress:
    """A ``host:port`` to listen on; the host is an IP literal, ``localhost`` or empty (all interfaces)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, flag: str) -> BindAddress | None:
        """``127.0.0.1:8080``, ``[::1]:8080`` or ``:8080``; ``0`` disables the server (None)."""
        if text.strip() == "0":
            return None
        host, sep, port = text.strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise SettingsError(flag, f"{text!r} is not HOST:PORT with a port from 0 to 65535 (or 0 to disable)")
        host = host.removeprefix("[").removesuffix("]")
        if host not in ("", "localhost"):
            try:
                ipaddress.ip_address(host)
            except ValueError as e:
                raise SettingsError(flag, f"{host!r} is not an IP address") from e
        return cls(host=host, port=int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def check_kube_client_rate(qps: float, burst: int) -> None:
    """--kube-client-qps above 0; --kube-client-burst at least 1 and at least the qps."""
    if qps <= 0:
        raise SettingsError("--kube-client-qps", "must be above 0")
    if burst < max(1, qps):
        raise SettingsError("--kube-client-burst", f"must be at least 1 and at least --kube-client-qps ({qps:g})")


@dataclass(frozen=True, slots=True)
class KubeClientSettings:
    """How to reach the Kubernetes API server."""

    kubeconfig: Path | None
    """None: the in-cluster service account."""
    qps: float
    """Client-side request rate limit."""
    burst: int
    """Requests allowed above qps in a burst."""

    def __post_init__(self) -> None:
        check_kube_client_rate(self.qps, self.burst)


@dataclass(frozen=True, slots=True)
class ServingSettings:
    """The program's HTTP endpoints besides its API."""

    metrics: BindAddress | None
    """Where /metrics is served; None: not served."""
    health: BindAddress | None
    """Where /healthz and /readyz are served; None: not served."""


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    """Log output."""

    level: str
    """Least severe level logged: debug, info, warning or error."""
    format: str
    """json (one object per line) or text."""
