"""Constants of the kubelet device plugin API v1beta1 that are not in the .proto.

The kubelet and every plugin agree on these strings out of band (upstream keeps them in the Go package's
``constants.go``). Both the agent's plugins and the simulated kubelet in ``eni.sim.kubelet`` read them from
here, so the two sides cannot drift apart. This module must stay free of imports beyond the standard library.
"""

from __future__ import annotations

from pathlib import Path

API_VERSION = "v1beta1"
"""The only API version a v1beta1 kubelet accepts in ``RegisterRequest.version``."""

HEALTHY = "Healthy"
"""``Device.health`` of a device the kubelet may hand out; counted in the node's allocatable."""

UNHEALTHY = "Unhealthy"
"""``Device.health`` of a device the kubelet counts in capacity only."""

DEFAULT_PLUGIN_DIR = Path("/var/lib/kubelet/device-plugins")
"""The folder holding the kubelet's registration socket and every plugin's socket."""

KUBELET_SOCKET_NAME = "kubelet.sock"
"""The kubelet's ``Registration`` socket, inside the plugin folder."""


def unix_target(path: Path) -> str:
    """The gRPC target or listen address of a unix socket path.

    >>> unix_target(Path("/var/lib/kubelet/device-plugins/kubelet.sock"))
    'unix:///var/lib/kubelet/device-plugins/kubelet.sock'
    """
    return "unix://" + str(path.absolute())
