"""The node's exclusive (direct) ENIs as the NodeENIConfig status describes them, and the pure maths over them.

Why pure: like the IP pool (``eni.agent.pool``), what a pod may get is a function of ipamd's status
(``status.enis[]`` with ``type: direct``: MAC, primary IP, subnet, gateway, ``state``, static mode's ``pod``),
the ledger's in-use and promised-back ENIs, and which ENI links sit free in the node's namespace. Tested with
tables, shared by the ledger, the service and the status report.

Static-IP mode (ipamd ``--mode static``, or any direct ENI carrying ``pod``): a pod gets only the ENI reserved
for it. Otherwise any free Bound direct ENI without a reservation will do, first in status order.

Must never: hand out an ENI in state Releasing, one reserved for another pod, one in use or promised back, or
one whose link is not in the node's namespace; promise back an ENI that a pod holds or that is not back home.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from eni.agent.pool import PodRef, PoolStatusError

__all__ = [
    "DirectEni",
    "DirectPool",
    "choose_direct_eni",
    "direct_wait_reason",
    "parse_direct_pool",
    "releasable_enis",
]

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class DirectEni:
    """One exclusive ENI attached to this node."""

    eni_id: str
    mac: str
    primary_ip: IPv4Address
    subnet: IPv4Network
    gateway: IPv4Address
    releasing: bool = False
    """ipamd wants it back (release handshake): never handed out again."""
    pod: PodRef | None = None
    """Static-IP mode: the only pod that may get it."""

    @property
    def address(self) -> IPv4Interface:
        """The primary IP with the subnet's prefix length: what the pod's interface gets."""
        return IPv4Interface(f"{self.primary_ip}/{self.subnet.prefixlen}")


@dataclass(frozen=True, slots=True)
class DirectPool:
    """The direct ENIs of one NodeENIConfig status, in status order."""

    enis: tuple[DirectEni, ...] = ()

    def by_id(self, eni_id: str) -> DirectEni | None:
        return next((e for e in self.enis if e.eni_id == eni_id), None)

    @property
    def reserved(self) -> bool:
        """Whether ipamd reserves direct ENIs for pods here (static-IP mode)."""
        return any(e.pod is not None for e in self.enis)


def parse_direct_pool(status: Mapping[str, Any] | None) -> DirectPool:
    """The direct ENIs of a NodeENIConfig ``status`` mapping; raises ``PoolStatusError`` on bad shapes.

    >>> parse_direct_pool({"enis": []}).enis
    ()
    """
    raw_enis = (status or {}).get("enis") or []
    if not isinstance(raw_enis, list):
        raise PoolStatusError("status.enis must be a list")
    return DirectPool(enis=tuple(_parse(i, raw) for i, raw in enumerate(raw_enis)
                                 if isinstance(raw, Mapping) and raw.get("type") == DIRECT))


def _parse(index: int, raw: Mapping[str, Any]) -> DirectEni:
    where = f"status.enis[{index}]"
    try:
        subnet = IPv4Network(str(raw["subnetCIDR"]))
        eni = DirectEni(
            eni_id=str(raw["eniId"]),
            mac=str(raw["mac"]).lower(),
            primary_ip=IPv4Address(str(raw["primaryIP"])),
            subnet=subnet,
            gateway=IPv4Address(str(raw["gateway"])),
            releasing=_releasing(where, raw.get("state", "Bound")),
            pod=_pod(where, raw.get("pod")),
        )
    except KeyError as e:
        raise PoolStatusError(f"{where} lacks {e.args[0]}") from e
    except ValueError as e:
        raise PoolStatusError(f"{where}: {e}") from e
    if not _MAC.match(eni.mac):
        raise PoolStatusError(f"{where}: invalid MAC address {eni.mac!r}")
    if eni.primary_ip not in subnet or eni.gateway not in subnet or eni.primary_ip == eni.gateway:
        raise PoolStatusError(f"{where}: primary IP {eni.primary_ip} and gateway {eni.gateway} must be distinct "
                              f"addresses of {subnet}")
    if subnet.prefixlen > 30:
        raise PoolStatusError(f"{where}: subnet {subnet} is too small for a pod and its gateway")
    return eni


def _releasing(where: str, state: object) -> bool:
    if state not in ("Bound", "Releasing"):
        raise PoolStatusError(f"{where}.state must be Bound or Releasing, got {state!r}")
    return state == "Releasing"


def _pod(where: str, raw: object) -> PodRef | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw.get("namespace") or not raw.get("name"):
        raise PoolStatusError(f"{where}.pod must be an object with a namespace and a name")
    return PodRef(namespace=str(raw["namespace"]), name=str(raw["name"]), uid=str(raw.get("uid") or ""))


def choose_direct_eni(
    pool: DirectPool,
    *,
    pod: PodRef,
    static: bool,
    in_use: Collection[str],
    unavailable: Collection[str],
    present: Collection[str],
) -> DirectEni | None:
    """A direct ENI ``pod`` may get now, or None.

    ``in_use`` and ``unavailable`` (promised back) are ENI ids; ``present`` holds the MACs of the links in the
    node's namespace. Static (``static`` or any reservation in the pool): only the ENI reserved for ``pod``.
    """
    for eni in pool.enis:
        if eni.releasing or eni.eni_id in in_use or eni.eni_id in unavailable or eni.mac not in present:
            continue
        if static or pool.reserved:
            if eni.pod is not None and eni.pod.matches(pod):
                return eni
        elif eni.pod is None:
            return eni
    return None


def direct_wait_reason(
    pool: DirectPool, pod: PodRef, *, static: bool, in_use: Collection[str], unavailable: Collection[str],
    present: Collection[str],
) -> str:
    """Why ``pod`` gets no direct ENI yet, for the CNI error (and so the pod's events)."""
    if static or pool.reserved:
        if not pod.name:
            return ("exclusive ENIs in static-IP mode go only to named pods, and the runtime did not pass "
                    "K8S_POD_NAMESPACE/K8S_POD_NAME")
        waiting = f"waiting for ipamd to attach the exclusive ENI of {pod}"
        for eni in pool.enis:
            if eni.pod is None or (eni.pod.namespace, eni.pod.name) != (pod.namespace, pod.name):
                continue
            if not eni.pod.matches(pod):
                return f"{waiting}: {eni.eni_id} is still reserved for an earlier pod of that name (uid {eni.pod.uid})"
            if eni.releasing or eni.eni_id in unavailable:
                return f"{waiting}: {eni.eni_id} is being released"
            if eni.eni_id in in_use:
                return f"{waiting}: {eni.eni_id} is still held by an earlier sandbox of the pod"
            return f"{waiting}: {eni.eni_id} is not in the node's network namespace yet"
        return waiting
    free = [e for e in pool.enis if e.pod is None and not e.releasing]
    used = sum(1 for e in free if e.eni_id in in_use)
    absent = sum(1 for e in free if e.eni_id not in in_use and e.mac not in present)
    releasing = len(pool.enis) - len(free)
    return (f"no exclusive ENI free yet: {len(pool.enis)} attached to this node, {used} in use, "
            f"{releasing} being released, {absent} not in the node's network namespace yet")


def releasable_enis(pool: DirectPool, *, in_use: Collection[str], present: Collection[str]) -> set[str]:
    """Releasing direct ENIs that no pod holds and whose link is back in the node's namespace."""
    return {e.eni_id for e in pool.enis if e.releasing and e.eni_id not in in_use and e.mac in present}
