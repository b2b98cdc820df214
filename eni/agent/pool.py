"""The node's IP pool as the NodeENIConfig status describes it, and the pure maths over it.

Why pure: the pool is what ipamd says is bound to this node (``status.enis[]``); the agent never asks
the cloud. Everything here is a function of that status plus the ledger's in-use and held-back sets, so
it is tested with tables and shared by the ledger, the service and introspection.

Static-IP mode: ipamd names, per IP, the one pod it is reserved for (``ips[].pod``). A pool with any such
reservation is a static pool: each pod gets only the IP reserved for it, and no IP is handed out by the
fewest-ENIs rule; a pool without reservations behaves as the warm pool of non-static mode.

Must never: hand out an IP that is in state Releasing, an ENI's primary IP, an IP of a non-route
(exclusive) ENI, or an IP reserved for another pod; mutate the status mapping it is given.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

__all__ = [
    "IpState",
    "PodRef",
    "PoolEni",
    "PoolStatusError",
    "PoolView",
    "choose_ip",
    "parse_pool",
    "releasable_ips",
    "static_wait_reason",
]

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class PoolStatusError(ValueError):
    """The NodeENIConfig status does not have the expected shape."""


class IpState(enum.Enum):
    BOUND = "Bound"
    RELEASING = "Releasing"


@dataclass(frozen=True, slots=True)
class PodRef:
    """A pod as the runtime names it (CNI_ARGS) or as ipamd reserves an IP for it; ``uid`` tells it from a
    later pod of the same name, and is empty when unknown (or, in a reservation, while the IP is retained)."""

    namespace: str = ""
    name: str = ""
    uid: str = ""

    def matches(self, other: PodRef) -> bool:
        """Same namespace and name, and the same uid when both sides know one."""
        if (self.namespace, self.name) != (other.namespace, other.name) or not self.name:
            return False
        return not (self.uid and other.uid) or self.uid == other.uid

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class PoolEni:
    """One ENI bound to this node, with its secondary IPs and their states."""

    eni_id: str
    mac: str
    primary_ip: IPv4Address
    subnet: IPv4Network
    gateway: IPv4Address
    route_table_id: str
    kind: str
    ips: Mapping[IPv4Address, IpState]
    reserved: Mapping[IPv4Address, PodRef] = field(default_factory=dict)
    """Static-IP mode: the pod each reserved IP is for (IPs without an entry are pool IPs)."""
    ip_ints: frozenset[int] = field(init=False, repr=False, compare=False)
    """Every IP of ``ips`` as an int, to count the ones in use with one set operation."""
    candidates: tuple[tuple[int, IPv4Address], ...] = field(init=False, repr=False, compare=False)
    """The Bound IPs other than the primary, lowest first, each with its int: what ``choose_ip`` may hand out."""

    def __post_init__(self) -> None:
        # NB: computed once per NEC status change rather than on every ADD (IPv4Address converts in Python code)
        primary = int(self.primary_ip)
        object.__setattr__(self, "ip_ints", frozenset(int(ip) for ip in self.ips))
        object.__setattr__(self, "candidates", tuple(sorted(
            (int(ip), ip) for ip, state in self.ips.items() if state is IpState.BOUND and int(ip) != primary)))

    @property
    def shared(self) -> bool:
        """Whether pods share this ENI (route mode), as opposed to owning it (direct mode)."""
        return self.kind == "route"


@dataclass(frozen=True, slots=True)
class PoolView:
    """The ENIs of one NodeENIConfig status, in status order."""

    enis: tuple[PoolEni, ...] = ()

    def eni_of(self, ip: IPv4Address) -> PoolEni | None:
        for eni in self.enis:
            if ip in eni.ips:
                return eni
        return None

    def state_of(self, ip: IPv4Address) -> IpState | None:
        eni = self.eni_of(ip)
        return None if eni is None else eni.ips[ip]

    def all_ips(self) -> set[IPv4Address]:
        return {ip for eni in self.enis for ip in eni.ips}

    def reserved_for(self, ip: IPv4Address) -> PodRef | None:
        eni = self.eni_of(ip)
        return None if eni is None else eni.reserved.get(ip)

    @property
    def static(self) -> bool:
        """Whether ipamd reserves IPs for pods here (static-IP mode): then only reserved IPs are handed out."""
        return any(eni.reserved for eni in self.enis)


def parse_pool(status: Mapping[str, Any] | None) -> PoolView:
    """Builds the pool from a NodeENIConfig ``status`` mapping; raises ``PoolStatusError`` on bad shapes.

    >>> parse_pool({}).enis
    ()
    """
    if not status:
        return PoolView()
    raw_enis = status.get("enis") or []
    if not isinstance(raw_enis, list):
        raise PoolStatusError("status.enis must be a list")
    return PoolView(enis=tuple(_parse_eni(i, raw) for i, raw in enumerate(raw_enis)))


def _parse_eni(index: int, raw: Any) -> PoolEni:
    where = f"status.enis[{index}]"
    if not isinstance(raw, Mapping):
        raise PoolStatusError(f"{where} must be an object")
    try:
        subnet = IPv4Network(str(raw["subnetCIDR"]))
        eni = PoolEni(
            eni_id=str(raw["eniId"]),
            mac=str(raw["mac"]).lower(),
            primary_ip=IPv4Address(str(raw["primaryIP"])),
            subnet=subnet,
            gateway=IPv4Address(str(raw["gateway"])),
            route_table_id=str(raw.get("routeTableId", "")),
            kind=str(raw.get("type", "route")),
            ips=_parse_ips(where, raw.get("ips") or []),
            reserved=_parse_reservations(where, raw.get("ips") or []),
        )
    except KeyError as e:
        raise PoolStatusError(f"{where} lacks {e.args[0]}") from e
    except ValueError as e:
        raise PoolStatusError(f"{where}: {e}") from e
    if not _MAC.match(eni.mac):
        raise PoolStatusError(f"{where}: invalid MAC address {eni.mac!r}")
    outside = [str(ip) for ip in eni.ips if ip not in subnet]
    if outside:
        raise PoolStatusError(f"{where}: IPs outside subnet {subnet}: {', '.join(outside)}")
    return eni


def _parse_ips(where: str, raw_ips: Any) -> dict[IPv4Address, IpState]:
    if not isinstance(raw_ips, list):
        raise PoolStatusError(f"{where}.ips must be a list")
    ips: dict[IPv4Address, IpState] = {}
    for entry in raw_ips:
        if not isinstance(entry, Mapping) or "ip" not in entry:
            raise PoolStatusError(f"{where}.ips entries must be objects with an ip")
        ips[IPv4Address(str(entry["ip"]))] = IpState(str(entry.get("state", "Bound")))
    return ips


def _parse_reservations(where: str, raw_ips: list[Any]) -> dict[IPv4Address, PodRef]:
    reserved: dict[IPv4Address, PodRef] = {}
    for entry in raw_ips:
        pod = entry.get("pod")
        if pod is None:
            continue
        if not isinstance(pod, Mapping) or not pod.get("namespace") or not pod.get("name"):
            raise PoolStatusError(f"{where}.ips[].pod of {entry['ip']} must be an object with a namespace and a name")
        reserved[IPv4Address(str(entry["ip"]))] = PodRef(namespace=str(pod["namespace"]), name=str(pod["name"]),
                                                         uid=str(pod.get("uid") or ""))
    return reserved


def choose_ip(
    pool: PoolView,
    *,
    in_use: Collection[IPv4Address],
    unavailable: Collection[IPv4Address],
    pod: PodRef | None = None,
    cooling: Collection[IPv4Address] = (),
) -> tuple[PoolEni, IPv4Address] | None:
    """A free IP for ``pod``, or None when none is free (yet).

    A static pool (``PoolView.static``) gives only the Bound IP reserved for ``pod``, even while it cools down
    (the pod that last held it is the same pod's predecessor). Otherwise: a free IP that is neither
    ``unavailable`` nor ``cooling``, from the shared ENI with the most IPs in use ("fewest ENIs"); ties go to
    the ENI listed first and within an ENI the lowest free IP wins, so choices are reproducible.
    """
    if pool.static:
        return _reserved_ip(pool, pod, in_use=in_use, unavailable=unavailable)
    # NB: compared as ints (precomputed in PoolEni): IPv4Address hashes and compares in Python code, and this runs
    # on every ADD over every pool IP.
    busy = {int(ip) for ip in in_use}
    taken = busy.union([int(ip) for ip in unavailable], [int(ip) for ip in cooling])
    best: tuple[int, int, PoolEni, IPv4Address] | None = None
    for order, eni in enumerate(pool.enis):
        if not eni.shared:
            continue
        chosen = next((ip for n, ip in eni.candidates if n not in taken), None)
        if chosen is None:
            continue
        rank = (-len(eni.ip_ints & busy), order)
        if best is None or rank < (best[0], best[1]):
            best = (rank[0], rank[1], eni, chosen)
    return None if best is None else (best[2], best[3])


def _reserved_ip(
    pool: PoolView, pod: PodRef | None, *, in_use: Collection[IPv4Address], unavailable: Collection[IPv4Address]
) -> tuple[PoolEni, IPv4Address] | None:
    if pod is None:
        return None
    for eni in pool.enis:
        if not eni.shared:
            continue
        for ip, owner in sorted(eni.reserved.items()):
            if (owner.matches(pod) and eni.ips[ip] is IpState.BOUND and ip != eni.primary_ip
                    and ip not in in_use and ip not in unavailable):
                return eni, ip
    return None


def static_wait_reason(pool: PoolView, pod: PodRef, *, in_use: Collection[IPv4Address]) -> str:
    """Why a static pool has no IP for ``pod`` yet, for the CNI error (and so the pod's events)."""
    if not pod.name:
        return ("static-IP mode gives IPs only to named pods, and the runtime did not pass "
                "K8S_POD_NAMESPACE/K8S_POD_NAME")
    waiting = f"waiting for ipamd to assign the static IP of {pod}"
    for eni in pool.enis:
        for ip, owner in sorted(eni.reserved.items()):
            if (owner.namespace, owner.name) != (pod.namespace, pod.name):
                continue
            if not owner.matches(pod):
                return f"{waiting}: {ip} is still reserved for an earlier pod of that name (uid {owner.uid})"
            if eni.ips[ip] is IpState.RELEASING:
                return f"{waiting}: {ip} is being moved"
            if ip in in_use:
                return f"{waiting}: {ip} is still held by an earlier sandbox of the pod"
            if not eni.shared:
                return f"{waiting}: {ip} is on ENI {eni.eni_id}, which pods do not share"
            return f"{waiting}: {ip} was promised back to ipamd"
    return waiting


def releasable_ips(
    pool: PoolView, *, in_use: Collection[IPv4Address], held: Iterable[IPv4Address]
) -> set[IPv4Address]:
    """IPs ipamd marked Releasing that no pod uses and that are not held back (e.g. cooling down).

    A Releasing IP that ipamd still reserves for a pod is on its way to that pod's new node: it is promised
    back as soon as no pod here uses it, without waiting out a cooldown meant against other pods.
    """
    held_set = set(held)
    return {
        ip
        for eni in pool.enis
        for ip, state in eni.ips.items()
        if state is IpState.RELEASING and ip not in in_use and (ip in eni.reserved or ip not in held_set)
    }
