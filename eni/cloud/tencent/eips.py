"""Elastic public IPs through the Tencent VPC API (part of ``TencentVpc``).

EIP actions return a ``TaskId`` that ``DescribeTaskResult`` reports on; each mutation waits for it.
A release retried after a lost reply treats ``NotFound`` as done; associate and disassociate are not
idempotent in the cloud, so a retried one may raise ``Conflict`` although the first attempt worked.
``allocate_eips`` carries an intent-derived ClientToken like every allocation, and tags the EIPs with
the cluster's marker tags so that a leak can be found and attributed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eni.cloud.errors import CloudUnavailable, NotFound
from eni.cloud.tencent.caller import BAD_REPLY_CODE
from eni.cloud.tencent.convert import eip_from, parse, tag_list
from eni.cloud.tencent.core import AdapterCore
from eni.cloud.types import Eip, EipId, EniId

__all__ = ["EipMethods", "ISPS"]

log = logging.getLogger(__name__)

ISPS = frozenset({"BGP", "CMCC", "CTCC", "CUCC"})
"""Internet service providers an EIP may use (PRODUCT.md: eip-attributes)."""


class EipMethods:
    """EIP methods of ``TencentVpc``; expects ``self._core``."""

    _core: AdapterCore

    def allocate_eips(
        self,
        *,
        intent: str,
        count: int = 1,
        bandwidth: int = 100,
        isp: str = "BGP",
        tags: Mapping[str, str] | None = None,
    ) -> tuple[Eip, ...]:
        if count < 1 or bandwidth < 1:
            raise ValueError(f"count and bandwidth must be positive, got {count} and {bandwidth}")
        if isp not in ISPS:
            raise ValueError(f"isp must be one of {sorted(ISPS)}, got {isp!r}")
        action = "AllocateAddresses"
        params: dict[str, Any] = {
            "AddressCount": count,
            "InternetServiceProvider": isp,
            "InternetMaxBandwidthOut": bandwidth,
            "Tags": tag_list(self._core.marker_tags(tags)),
            "ClientToken": self._core.token(action, intent),
        }
        reply = self._core.mutate_eip(action, params)
        ids = [EipId(str(i)) for i in (reply.body.get("AddressSet") or ())] if reply is not None else []
        if len(ids) != count:
            raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: asked for {count} EIPs, got {len(ids)}")
        eips = self.describe_eips(ids)
        log.info("Allocated EIPs", extra={"eips": ids})
        return eips

    def associate_eip(self, eip_id: EipId, *, eni_id: EniId, private_ip: str) -> None:
        params = {"AddressId": eip_id, "NetworkInterfaceId": eni_id, "PrivateIpAddress": private_ip}
        self._core.mutate_eip("AssociateAddress", params)
        log.info("Associated EIP", extra={"eip": eip_id, "eni": eni_id, "ip": private_ip})

    def disassociate_eip(self, eip_id: EipId) -> None:
        self._core.mutate_eip("DisassociateAddress", {"AddressId": eip_id})
        log.info("Disassociated EIP", extra={"eip": eip_id})

    def release_eips(self, eip_ids: Sequence[EipId]) -> None:
        if not eip_ids:
            raise ValueError("no EIPs to release")
        self._core.mutate_eip(
            "ReleaseAddresses", {"AddressIds": list(eip_ids)}, already_done=lambda e: isinstance(e, NotFound)
        )
        log.info("Released EIPs", extra={"eips": list(eip_ids)})

    def describe_eips(
        self, eip_ids: Sequence[EipId] | None = None, *, tags: Mapping[str, str] | None = None
    ) -> tuple[Eip, ...]:
        if eip_ids is not None and tags:
            raise ValueError("eip_ids cannot be combined with tags (the API refuses it)")
        params: dict[str, Any]
        if eip_ids is not None:
            if not eip_ids:
                return ()
            params = {"AddressIds": list(dict.fromkeys(eip_ids))}
        else:
            params = {"Filters": [{"Name": f"tag:{k}", "Values": [v]} for k, v in (tags or {}).items()]}
            if not params["Filters"]:
                params = {}
        key = repr(sorted(params.items()))

        def load() -> tuple[Eip, ...]:
            raw = self._core.paged("vpc", "DescribeAddresses", params, "AddressSet")
            return tuple(parse("DescribeAddresses", eip_from, item) for item in raw)

        return self._core.cache.get_or_load("eip", key, load)
