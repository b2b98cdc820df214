"""Kubelet device plugins (API v1beta1) for tke-eni's extended resources.

One ``DevicePluginServer`` per resource (``ENI_IP``, ``DIRECT_ENI``, ``EIP``) advertises "capacity N, M of them
usable" as N devices of which M are Healthy, so the node shows capacity N and allocatable M. The agent feeds the
counts through ``DevicePluginServer.update``. This package needs only grpc and ``eni.rpc``; it never imports the
Kubernetes client or ``eni.runtime``.
"""

from .devices import MAX_DEVICES, AdvertisedDevice, DeviceCounts, advertised_devices, check_device_ids, device_id
from .errors import (
    DevicePluginError,
    InvalidDeviceCountsError,
    InvalidDeviceRequestError,
    RegistrationError,
    SocketPathError,
)
from .inventory import DeviceAdvertiser
from .protocol import API_VERSION, DEFAULT_PLUGIN_DIR, HEALTHY, KUBELET_SOCKET_NAME, UNHEALTHY, unix_target
from .resource import DIRECT_ENI, EIP, ENI_IP, STANDARD_RESOURCES, ResourceSpec, is_extended_resource_name
from .server import DevicePluginServer
from .settings import DevicePluginSettings

__all__ = [
    "API_VERSION",
    "DEFAULT_PLUGIN_DIR",
    "DIRECT_ENI",
    "EIP",
    "ENI_IP",
    "HEALTHY",
    "KUBELET_SOCKET_NAME",
    "MAX_DEVICES",
    "STANDARD_RESOURCES",
    "UNHEALTHY",
    "AdvertisedDevice",
    "DeviceAdvertiser",
    "DeviceCounts",
    "DevicePluginError",
    "DevicePluginServer",
    "DevicePluginSettings",
    "InvalidDeviceCountsError",
    "InvalidDeviceRequestError",
    "RegistrationError",
    "ResourceSpec",
    "SocketPathError",
    "advertised_devices",
    "check_device_ids",
    "device_id",
    "is_extended_resource_name",
    "unix_target",
]
