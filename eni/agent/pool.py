"""The node's IP pool as the NodeENIConfig status describes it, and the pure maths over it.

Why pure: the pool is what ipamd says is bound to this node (``status.enis[]``); the agent never asks
the cloud. Everything here is a function of that status plus the ledger's in-use and held-back sets, so
it is tested with tables and shared by the ledger, the service and introspection.

Must never: hand out an IP that is in state Releasing, an ENI's primary IP, or an IP of a non-route
(exclusive) ENI; mutate the status mapping it is given.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

__all__ = ["IpState", "PoolEni", "PoolStatusError", "PoolView", "choose_ip", "parse_pool", "releasable_ips"]

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class PoolStatusError(ValueError):
    """The NodeENIConfig status does not have the expected shape."""


class IpState(enum.Enum):
    BOUND = "Bound"
    RELEASING = "Releasing"


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


def choose_ip(
    pool: PoolView, *, in_use: Collection[IPv4Address], unavailable: Collection[IPv4Address]
) -> tuple[PoolEni, IPv4Address] | None:
    """A free IP from the shared ENI with the most IPs in use ("fewest ENIs"), or None when none is free.

    Ties go to the ENI listed first; within an ENI the lowest free IP wins, so choices are reproducible.
    """
    best: tuple[int, int, PoolEni, IPv4Address] | None = None
    for order, eni in enumerate(pool.enis):
        if not eni.shared:
            continue
        free = [
            ip
            for ip, state in eni.ips.items()
            if state is IpState.BOUND and ip != eni.primary_ip and ip not in in_use and ip not in unavailable
        ]
        if not free:
            continue
        used = sum(1 for ip in eni.ips if ip in in_use)
        rank = (-used, order)
        if best is None or rank < (best[0], best[1]):
            best = (rank[0], rank[1], eni, min(free))
    return None if best is None else (best[2], best[3])


def releasable_ips(
    pool: PoolView, *, in_use: Collection[IPv4Address], held: Iterable[IPv4Address]
) -> set[IPv4Address]:
    """IPs ipamd marked Releasing that no pod uses and that are not held back (e.g. cooling down)."""
    held_set = set(held)
    return {
        ip
        for eni in pool.enis
        for ip, state in eni.ips.items()
        if state is IpState.RELEASING and ip not in in_use and ip not in held_set
    }
