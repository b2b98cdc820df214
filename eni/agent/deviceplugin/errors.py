"""Errors of the device plugins.

::

    DevicePluginError
     ├── InvalidDeviceCountsError   capacity/healthy out of range; the advertised devices are left unchanged
     ├── InvalidDeviceRequestError  the kubelet named devices we do not have (mapped to gRPC INVALID_ARGUMENT)
     ├── RegistrationError          the kubelet did not accept or could not be reached for Register
     └── SocketPathError            our socket path is taken by something that is not a socket

gRPC exceptions never leave this package: they are chained as causes (``raise ... from e``).
"""

from __future__ import annotations


class DevicePluginError(Exception):
    """Base class of every device plugin error."""


class InvalidDeviceCountsError(DevicePluginError, ValueError):
    """The device counts handed to a plugin are impossible (negative, healthy above capacity, too many)."""


class InvalidDeviceRequestError(DevicePluginError, ValueError):
    """A request from the kubelet names unknown, duplicate or unusable device ids."""


class RegistrationError(DevicePluginError):
    """Registering a plugin with the kubelet failed; the plugin retries on its next poll."""


class SocketPathError(DevicePluginError):
    """The plugin's socket path exists and is not a unix socket, so it is not ours to replace."""
