"""tke-eni-agent's settings: grouped frozen values, each validated on construction.

A settings object that exists is valid: every check (node name, absolute paths, unix socket path
length, durations, addresses) runs in ``__post_init__`` and raises ``SettingsError`` naming the
flag. ``from_flags`` builds the whole tree from the parsed command line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from eni.cli.settings import BindAddress, LoggingSettings, ServingSettings, SettingsError, check_kube_client_rate

# The kernel's sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NETNS_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")


def check_absolute(flag: str, path: Path) -> None:
    if not path.is_absolute():
        raise SettingsError(flag, f"{str(path)!r} must be an absolute path")


def check_socket_path(flag: str, path: Path) -> None:
    check_absolute(flag, path)
    if len(str(path).encode()) > MAX_SOCKET_PATH_BYTES:
        raise SettingsError(flag, f"a unix socket path holds at most {MAX_SOCKET_PATH_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Which node this agent serves and where its network lives."""

    node_name: str
    """The Kubernetes Node (and NodeENIConfig) name."""
    netns: str
    """The node's network namespace: a name under /var/run/netns, a path, or empty for the agent's own."""
    sync_interval: timedelta = timedelta(seconds=10)
    """How often node set-up (CNI files, ENIs, rules, sysctls) is re-checked and drift repaired."""

    def __post_init__(self) -> None:
        if self.sync_interval <= timedelta(0):
            raise SettingsError("--sync-interval", "must be longer than 0s")
        if not self.node_name:
            raise SettingsError("--node-name", "is required (or set NODE_NAME)")
        if len(self.node_name) > 253 or not _DNS_SUBDOMAIN.match(self.node_name):
            raise SettingsError("--node-name", f"{self.node_name!r} is not a valid node name")
        if self.netns and not (self.netns.startswith("/") or _NETNS_NAME.match(self.netns)):
            raise SettingsError("--netns", f"{self.netns!r} is neither a namespace name nor an absolute path")


@dataclass(frozen=True, slots=True)
class KubeClientSettings:
    """How to reach the Kubernetes API server."""

    kubeconfig: Path | None
    """None: the in-cluster service account."""
    qps: float
    """Client-side request rate limit."""
    burst: int
    """Requests allowed above qps in a burst."""
    client: str = "stdlib"
    """``stdlib``: the agent's light standard-library transport; ``official``: the official Kubernetes client
    (needed for kubeconfigs with exec or auth-provider credential plugins; costs ~30 MiB of memory)."""

    def __post_init__(self) -> None:
        if self.client not in ("stdlib", "official"):
            raise SettingsError("--kube-client", "must be stdlib or official")
        check_kube_client_rate(self.qps, self.burst)


@dataclass(frozen=True, slots=True)
class CniSettings:
    """Where the CNI plugins and their network config are installed."""

    bin_dir: Path
    """Where the plugin executables are installed."""
    conf_dir: Path
    """Where the network config list is written."""
    plugin_interpreter: str
    """The command line in the plugins' ``#!`` line: the host's python3 runs them."""
    port_mapping: bool
    """Chain the ``portmap`` plugin after ours, so hostPort works."""

    def __post_init__(self) -> None:
        check_absolute("--cni-bin-dir", self.bin_dir)
        check_absolute("--cni-conf-dir", self.conf_dir)
        if not self.plugin_interpreter.startswith("/") or "\n" in self.plugin_interpreter:
            raise SettingsError("--plugin-interpreter", "must be an absolute command line on one line")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The agent API's unix sockets (mode 0600)."""

    grpc_socket: Path
    """The gRPC API (for in-node clients that have grpcio)."""
    json_socket: Path
    """The same methods in their JSON mapping, for the standard-library CNI plugins."""

    def __post_init__(self) -> None:
        check_socket_path("--grpc-socket", self.grpc_socket)
        check_socket_path("--json-socket", self.json_socket)
        if self.grpc_socket == self.json_socket:
            raise SettingsError("--json-socket", "must differ from --grpc-socket")


@dataclass(frozen=True, slots=True)
class IpamSettings:
    """The node's IP ledger and its garbage collection."""

    state_dir: Path
    """Holds the crash-safe allocation ledger."""
    ip_cooldown: timedelta
    """A released IP is not handed out again before this long."""
    gc_interval: timedelta
    """How often allocations are compared with the node's pods."""
    gc_grace: timedelta
    """An allocation whose pod is gone is released only after this long."""
    quick_release: bool
    """Accepted for compatibility with TKE's agent; release pacing is ipamd's --enable-quick-release."""
    static_ips: bool = False
    """ipamd runs with --mode static (IPs reserved per pod; every bindable IP is allocatable)."""

    def __post_init__(self) -> None:
        check_absolute("--state-dir", self.state_dir)
        if self.ip_cooldown < timedelta(0):
            raise SettingsError("--ip-cooldown", "must not be negative")
        if self.gc_interval <= timedelta(0):
            raise SettingsError("--gc-interval", "must be longer than 0s")
        if self.gc_grace < timedelta(0):
            raise SettingsError("--gc-grace", "must not be negative")


@dataclass(frozen=True, slots=True)
class DevicePluginSettings:
    """Where the kubelet looks for device plugins."""

    plugin_dir: Path
    """The kubelet's device-plugin folder (its kubelet.sock and our sockets)."""

    def __post_init__(self) -> None:
        check_absolute("--device-plugin-dir", self.plugin_dir)


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Everything the tke-eni-agent daemon is configured with, by concern."""

    node: NodeSettings
    kube: KubeClientSettings
    cni: CniSettings
    api: ApiSettings
    ipam: IpamSettings
    device_plugin: DevicePluginSettings
    serving: ServingSettings
    logging: LoggingSettings


def from_flags(flags: Mapping[str, Any]) -> AgentSettings:
    """Build and validate the settings from click's parsed flags (by parameter name)."""
    kubeconfig = flags["kubeconfig"]
    return AgentSettings(
        node=NodeSettings(node_name=flags["node_name"] or "", netns=flags["netns"],
                          sync_interval=flags.get("sync_interval") or timedelta(seconds=10)),
        kube=KubeClientSettings(kubeconfig=Path(kubeconfig) if kubeconfig else None, qps=flags["kube_client_qps"],
                                burst=flags["kube_client_burst"], client=flags["kube_client"]),
        cni=CniSettings(bin_dir=flags["cni_bin_dir"], conf_dir=flags["cni_conf_dir"],
                        plugin_interpreter=flags["plugin_interpreter"], port_mapping=flags["port_mapping"]),
        api=ApiSettings(grpc_socket=flags["grpc_socket"], json_socket=flags["json_socket"]),
        ipam=IpamSettings(state_dir=flags["state_dir"], ip_cooldown=flags["ip_cooldown"],
                          gc_interval=flags["gc_interval"], gc_grace=flags["gc_grace"],
                          quick_release=flags["enable_quick_release"], static_ips=flags.get("mode") == "static"),
        device_plugin=DevicePluginSettings(plugin_dir=flags["device_plugin_dir"]),
        serving=ServingSettings(
            metrics=BindAddress.parse(flags["metrics_bind_address"], flag="--metrics-bind-address"),
            health=BindAddress.parse(flags["health_probe_bind_address"], flag="--health-probe-bind-address"),
        ),
        logging=LoggingSettings(level=flags["log_level"], format=flags["log_format"]),
    )
