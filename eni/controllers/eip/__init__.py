"""Pod EIPs: an EIPClaim per pod that asks for an elastic public IP, and the EIP's whole life.

``setup(manager, vpc=..., settings=EipSettings(...))`` adds the controller to ipamd's manager.
Modules: ``reconciler`` (claim lifecycle: create, retain, expire, delete), ``binding`` (allocate or
pick, associate, publish), ``cloud`` (counted cloud calls and the quota hold-off), ``claims`` (API
writes), ``podview`` (what a pod asks for), ``owner`` (the workload owning a claim), ``settings``,
``events``, ``metrics`` and ``controller`` (wiring). It uses only eni.runtime, eni.api and the cloud
interfaces, never a concrete cloud adapter.
"""

from .controller import EipController, setup
from .metrics import EipMetrics
from .reconciler import EipClaimReconciler
from .settings import EipSettings

__all__ = ["EipClaimReconciler", "EipController", "EipMetrics", "EipSettings", "setup"]
