"""A simulated kubelet device manager: real device plugins register with it over real gRPC.

The local cluster runs one per simulated node and publishes its ``resources()`` to the Node status.
"""

from .device_manager import FakeDeviceManager, PluginRegistration, ResourceCounts, UnknownResourceError
from .endpoint import DeviceTable, PluginEndpoint

__all__ = [
    "DeviceTable",
    "FakeDeviceManager",
    "PluginEndpoint",
    "PluginRegistration",
    "ResourceCounts",
    "UnknownResourceError",
]
