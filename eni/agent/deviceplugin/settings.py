"""Settings shared by the agent's device plugins; built by ``cmd`` from flags, never read from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .protocol import DEFAULT_PLUGIN_DIR, KUBELET_SOCKET_NAME


@dataclass(frozen=True, slots=True)
class DevicePluginSettings:
    """Where the kubelet's plugin folder is and how patiently the plugins talk to it."""

    plugin_dir: Path = DEFAULT_PLUGIN_DIR
    """The kubelet's device-plugin folder: ``kubelet.sock`` and our own sockets live here."""
    kubelet_socket_name: str = KUBELET_SOCKET_NAME
    """The kubelet's registration socket, inside ``plugin_dir``."""
    poll_interval: float = 1.0
    """Seconds between checks for a restarted kubelet (its socket recreated) or our own socket removed."""
    register_timeout: float = 5.0
    """Deadline of one Register call."""
    stream_heartbeat: float = 1.0
    """Longest a ListAndWatch stream waits before re-checking that the kubelet is still connected."""
    shutdown_grace: float = 2.0
    """Seconds in-flight calls get to finish when a plugin stops."""
    max_workers: int = 8
    """gRPC worker threads per plugin; every open ListAndWatch stream holds one."""

    def __post_init__(self) -> None:
        for name in ("poll_interval", "register_timeout", "stream_heartbeat", "shutdown_grace"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if self.max_workers < 2:
            raise ValueError(f"max_workers must be at least 2 (a stream plus a unary call), got {self.max_workers}")
        if "/" in self.kubelet_socket_name or not self.kubelet_socket_name:
            raise ValueError(f"kubelet_socket_name must be a plain file name, got {self.kubelet_socket_name!r}")

    @property
    def kubelet_socket(self) -> Path:
        """The full path of the kubelet's registration socket."""
        return self.plugin_dir / self.kubelet_socket_name
