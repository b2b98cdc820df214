"""Secondary private IPs through the Tencent VPC API (part of ``TencentVpc``).

The cloud takes at most ten IPs per Assign/Unassign call, so requests are split into batches that run
one after another (each waits for its task: the ENI is locked while a task runs). Batch ``i`` of an
intent always carries the same ClientToken, so replaying an intent after a crash returns the batches
that were already assigned instead of assigning new ones. When batch ``i > 0`` fails, the batches
before it have taken effect: ``PartialOutcome`` names them, with the failure as its cause.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Sequence
from typing import Any, NoReturn

from eni.cloud.errors import CloudError, NotFound, PartialOutcome
from eni.cloud.interfaces import MAX_IPS_PER_CALL
from eni.cloud.tencent.convert import parse, private_ip_from
from eni.cloud.tencent.core import AdapterCore
from eni.cloud.types import EniId, IpState, PrivateIp

__all__ = ["IpMethods", "batches"]

log = logging.getLogger(__name__)


def batches(total: int, size: int = MAX_IPS_PER_CALL) -> list[int]:
    """Batch sizes that add up to ``total``.

    >>> batches(27)
    [10, 10, 7]
    """
    return [min(size, total - start) for start in range(0, total, size)]


def _valid_addresses(addresses: Sequence[str]) -> list[str]:
    parsed: list[str] = []
    for address in addresses:
        try:
            parsed.append(str(ipaddress.IPv4Address(address)))
        except ValueError as e:
            raise ValueError(f"not an IPv4 address: {address!r}") from e
    if len(set(parsed)) != len(parsed):
        raise ValueError("addresses contain duplicates")
    return parsed


class IpMethods:
    """IP methods of ``TencentVpc``; expects ``self._core``."""

    _core: AdapterCore

    def assign_private_ips(
        self,
        eni_id: EniId,
        *,
        intent: str,
        count: int = 0,
        addresses: Sequence[str] = (),
    ) -> tuple[PrivateIp, ...]:
        if bool(count) == bool(addresses) or count < 0:
            raise ValueError("give either a positive count or addresses")
        wanted = _valid_addresses(addresses)
        action = "AssignPrivateIpAddresses"
        sizes = batches(count) if count else batches(len(wanted))
        assigned: list[PrivateIp] = []
        for part, size in enumerate(sizes):
            params: dict[str, Any] = {
                "NetworkInterfaceId": eni_id,
                "ClientToken": self._core.token(action, intent, scope=eni_id, part=part),
            }
            if count:
                params["SecondaryPrivateIpAddressCount"] = size
            else:
                chunk = wanted[part * MAX_IPS_PER_CALL : part * MAX_IPS_PER_CALL + size]
                params["PrivateIpAddresses"] = [{"PrivateIpAddress": ip} for ip in chunk]
            try:
                reply = self._core.mutate_vpc(action, params)
            except CloudError as e:
                not_done = sum(sizes[part:]) if count else wanted[len(assigned) :]
                self._raise_partial(e, done=assigned, not_done=not_done)
            assert reply is not None
            got = [parse(action, private_ip_from, raw) for raw in reply.body.get("PrivateIpAddressSet") or ()]
            assigned.extend(dataclasses.replace(ip, state=IpState.AVAILABLE) for ip in got)
        log.info("Assigned IPs", extra={"eni": eni_id, "count": len(assigned)})
        return tuple(assigned)

    def unassign_private_ips(self, eni_id: EniId, addresses: Sequence[str]) -> None:
        wanted = _valid_addresses(addresses)
        if not wanted:
            raise ValueError("no addresses to unassign")
        done: list[str] = []
        for start in range(0, len(wanted), MAX_IPS_PER_CALL):
            chunk = wanted[start : start + MAX_IPS_PER_CALL]
            params = {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [{"PrivateIpAddress": ip} for ip in chunk]}
            try:
                # A retry that finds the addresses gone means the lost first attempt did the work.
                self._core.mutate_vpc(
                    "UnassignPrivateIpAddresses", params, already_done=lambda e: isinstance(e, NotFound)
                )
            except CloudError as e:
                self._raise_partial(e, done=done, not_done=wanted[start:])
            done.extend(chunk)
        log.info("Unassigned IPs", extra={"eni": eni_id, "count": len(done)})

    def migrate_private_ip(self, address: str, *, source_eni_id: EniId, destination_eni_id: EniId) -> None:
        (ip,) = _valid_addresses([address])
        params = {
            "SourceNetworkInterfaceId": source_eni_id,
            "DestinationNetworkInterfaceId": destination_eni_id,
            "PrivateIpAddress": ip,
        }
        self._core.mutate_vpc("MigratePrivateIpAddress", params)
        log.info("Migrated IP", extra={"ip": ip, "source": source_eni_id, "destination": destination_eni_id})

    @staticmethod
    def _raise_partial(
        error: CloudError, *, done: Sequence[PrivateIp] | Sequence[str], not_done: int | Sequence[str]
    ) -> NoReturn:
        """Re-raise ``error`` as is when nothing was done yet, else as ``PartialOutcome``."""
        if not done:
            raise error
        addresses = tuple(ip.address if isinstance(ip, PrivateIp) else ip for ip in done)
        remaining = not_done if isinstance(not_done, int) else tuple(not_done)
        raise PartialOutcome(done=addresses, not_done=remaining, cause=error) from error

