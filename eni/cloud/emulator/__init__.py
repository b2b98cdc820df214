"""A loopback HTTP server that speaks the real Tencent Cloud API (VPC and CVM, 2017-03-12).

The real tencentcloud-sdk-python runs against it unmodified; it never imports that SDK itself.
Public API: ``Emulator``, ``World`` (``World.default()``, ``World.from_yaml``), ``EmulatorHooks``,
``EniView``, ``Faults`` and ``sign_headers`` for raw-HTTP clients.
"""

from .emulator import Emulator
from .faults import ActionFaults, Faults
from .hooks import EmulatorHooks, EniView
from .signing import sign_headers
from .world import InstanceSpec, InstanceType, SecurityGroupSpec, SubnetSpec, World, WorldError

__all__ = [
    "ActionFaults",
    "Emulator",
    "EmulatorHooks",
    "EniView",
    "Faults",
    "InstanceSpec",
    "InstanceType",
    "SecurityGroupSpec",
    "SubnetSpec",
    "World",
    "WorldError",
    "sign_headers",
]
