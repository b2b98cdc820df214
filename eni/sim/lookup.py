"""Read-only look-ups of a local cluster that the demo and the end-to-end tests share: a node's NodeENIConfig,
a VpcENI, the emulator's ENIs, a NEC's exclusive (direct) ENIs and which of them are free, and a bounded wait.

Plain dicts as the API server and the emulator's admin endpoint return them. Nothing here writes anywhere.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from eni.api.v1.constants import GROUP, VERSION
from eni.sim.kube import KubeApi, Obj

T = TypeVar("T")

EXTENSION_ATTACH = 1
"""``AttachType`` of an exclusive ENI in the emulator's replies."""


class LookupTimeout(TimeoutError):
    """``eventually`` gave up; the message names what it waited for."""


def eventually(what: str, probe: Callable[[], T | None], *, timeout: float = 60.0, interval: float = 0.3) -> T:
    """Poll ``probe`` until it returns something truthy and give that back; LookupTimeout naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LookupTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _custom(api: KubeApi) -> Any:
    from kubernetes.client import CustomObjectsApi

    return CustomObjectsApi(api.client)


def node_eni_config(api: KubeApi, node: str) -> Obj:
    """The node's NodeENIConfig (``{}`` when there is none yet)."""
    from kubernetes.client import ApiException

    try:
        reply = _custom(api).get_cluster_custom_object(GROUP, VERSION, "nodeeniconfigs", node, _preload_content=False,
                                                       _request_timeout=api.timeout)
    except ApiException as e:
        if e.status == 404:
            return {}
        raise
    return dict(json.loads(reply.data))


def vpc_eni(api: KubeApi, eni_id: str) -> Obj | None:
    """The VpcENI record of ``eni_id``, or None."""
    from kubernetes.client import ApiException

    try:
        reply = _custom(api).get_cluster_custom_object(GROUP, VERSION, "vpcenis", eni_id, _preload_content=False,
                                                       _request_timeout=api.timeout)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    return dict(json.loads(reply.data))


def direct_enis(nec: Obj) -> list[Obj]:
    """The NEC status's exclusive ENIs."""
    return [e for e in (nec.get("status") or {}).get("enis") or [] if e.get("type") == "direct"]


def in_use_enis(nec: Obj) -> set[str]:
    """The direct ENIs the node's agent reports held by pods."""
    return set(((nec.get("status") or {}).get("agent") or {}).get("inUseENIs") or [])


def free_direct_enis(nec: Obj) -> list[str]:
    """The warm pool: Bound direct ENIs no pod holds, by the NEC's own status."""
    held = in_use_enis(nec)
    return sorted(e["eniId"] for e in direct_enis(nec) if e.get("state", "Bound") == "Bound" and e["eniId"] not in held)


def direct_eni_of_ip(nec: Obj, ip: str) -> Obj | None:
    """The direct ENI whose primary IP is ``ip`` (a direct-ENI pod's IP), if the NEC lists one."""
    return next((e for e in direct_enis(nec) if e.get("primaryIP") == ip), None)


def cloud_enis(endpoint: str) -> dict[str, Obj]:
    """Every ENI the emulator holds, by id, as its ``DescribeNetworkInterfaces`` would show it."""
    with urllib.request.urlopen(f"http://{endpoint}/_admin/state", timeout=10) as response:  # noqa: S310 - loopback
        state = json.loads(response.read())
    return {str(e["NetworkInterfaceId"]): e for e in state.get("networkInterfaces") or []}


def attached_to(eni: Obj) -> str:
    """The instance an emulator ENI is attached to ("" when detached)."""
    return str((eni.get("Attachment") or {}).get("InstanceId") or "")


def is_direct(eni: Obj) -> bool:
    """Whether an emulator ENI is attached as an exclusive (extension) ENI."""
    return eni.get("AttachType") == EXTENSION_ATTACH
