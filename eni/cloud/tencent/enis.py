"""ENI lifecycle and description through the Tencent VPC API (part of ``TencentVpc``).

Create, attach, detach and delete are asynchronous in the cloud and waited for here. Detach, delete
and attach that had to be retried after a lost reply accept "already done" errors as success
(``AttachmentNotFound``, ``NotFound``, ``AttachmentAlreadyExists``): the first attempt did the work.
For attach, the ENI is then described until it is AVAILABLE on the requested instance, so a retried
attach never returns early, and an ENI attached to another instance is still a ``Conflict``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eni.cloud.errors import CloudError, Conflict, NotFound, TaskTimeout
from eni.cloud.interfaces import MAX_IPS_PER_CALL
from eni.cloud.tencent.convert import eni_from, parse, tag_list
from eni.cloud.tencent.core import AdapterCore
from eni.cloud.tencent.tasks import TASK_TIMEOUT_CODE
from eni.cloud.types import (
    AttachType,
    Eni,
    EniId,
    EniState,
    InstanceId,
    IpState,
    SecurityGroupId,
    SubnetId,
    VpcId,
)

__all__ = ["EniMethods"]

log = logging.getLogger(__name__)

ATTACHMENT_EXISTS = "UnsupportedOperation.AttachmentAlreadyExists"
_MAX_FILTER_VALUES = 5
_MAX_IDS_PER_CALL = 100


def _code_is(*codes: str) -> Callable[[CloudError], bool]:
    return lambda error: error.code in codes


class EniMethods:
    """ENI methods of ``TencentVpc``; expects ``self._core``."""

    _core: AdapterCore

    def create_eni(
        self,
        *,
        intent: str,
        subnet_id: SubnetId,
        name: str,
        security_group_ids: Sequence[SecurityGroupId] = (),
        secondary_ip_count: int = 0,
        tags: Mapping[str, str] | None = None,
        description: str = "",
    ) -> Eni:
        if not 0 <= secondary_ip_count <= MAX_IPS_PER_CALL:
            raise ValueError(f"secondary_ip_count must be 0..{MAX_IPS_PER_CALL}, got {secondary_ip_count}")
        if not name:
            raise ValueError("name must not be empty")
        vpc_id = self._core.settings.vpc_id
        if not vpc_id:
            raise ValueError("settings.vpc_id is required to create ENIs")
        action = "CreateNetworkInterface"
        params: dict[str, Any] = {
            "VpcId": vpc_id,
            "SubnetId": subnet_id,
            "NetworkInterfaceName": name,
            "NetworkInterfaceDescription": description,
            "Tags": tag_list(self._core.marker_tags(tags)),
            "ClientToken": self._core.token(action, intent, scope=subnet_id),
        }
        if security_group_ids:
            params["SecurityGroupIds"] = list(security_group_ids)
        if secondary_ip_count:
            params["SecondaryPrivateIpAddressCount"] = secondary_ip_count
        reply = self._core.mutate_vpc(action, params)
        assert reply is not None
        eni = parse(action, eni_from, reply.body.get("NetworkInterface"))
        # The task succeeded, so the ENI and its addresses are available now.
        ready_ips = tuple(dataclasses.replace(ip, state=IpState.AVAILABLE) for ip in eni.private_ips)
        eni = dataclasses.replace(eni, state=EniState.AVAILABLE, private_ips=ready_ips)
        log.info("Created ENI", extra={"eni": eni.id, "subnet": subnet_id, "ips": len(ready_ips)})
        return eni

    def attach_eni(
        self, eni_id: EniId, instance_id: InstanceId, *, attach_type: AttachType = AttachType.STANDARD
    ) -> None:
        params = {"NetworkInterfaceId": eni_id, "InstanceId": instance_id, "AttachType": int(attach_type)}
        reply = self._core.mutate_vpc(
            "AttachNetworkInterface",
            params,
            invalidate=("eni", "instance"),
            already_done=_code_is(ATTACHMENT_EXISTS),
        )
        if reply is None:
            # A retry found the ENI attached: make sure it is our attachment and that it finished.
            self._await_attached(eni_id, instance_id)
        log.info("Attached ENI", extra={"eni": eni_id, "instance": instance_id})

    def detach_eni(self, eni_id: EniId, instance_id: InstanceId) -> None:
        self._core.mutate_vpc(
            "DetachNetworkInterface",
            {"NetworkInterfaceId": eni_id, "InstanceId": instance_id},
            invalidate=("eni", "instance"),
            already_done=_code_is("UnsupportedOperation.AttachmentNotFound"),
        )
        log.info("Detached ENI", extra={"eni": eni_id, "instance": instance_id})

    def delete_eni(self, eni_id: EniId) -> None:
        self._core.mutate_vpc(
            "DeleteNetworkInterface",
            {"NetworkInterfaceId": eni_id},
            already_done=lambda e: isinstance(e, NotFound),
        )
        log.info("Deleted ENI", extra={"eni": eni_id})

    def modify_eni_attribute(
        self,
        eni_id: EniId,
        *,
        name: str | None = None,
        description: str | None = None,
        security_group_ids: Sequence[SecurityGroupId] | None = None,
    ) -> None:
        params: dict[str, Any] = {"NetworkInterfaceId": eni_id}
        if name is not None:
            params["NetworkInterfaceName"] = name
        if description is not None:
            params["NetworkInterfaceDescription"] = description
        if security_group_ids is not None:
            params["SecurityGroupIds"] = list(security_group_ids)
        if len(params) == 1:
            raise ValueError("nothing to modify")
        self._core.mutate_vpc("ModifyNetworkInterfaceAttribute", params, invalidate=("eni",), asynchronous=False)

    def associate_security_groups(
        self, eni_ids: Sequence[EniId], security_group_ids: Sequence[SecurityGroupId]
    ) -> None:
        self._security_groups("AssociateNetworkInterfaceSecurityGroups", eni_ids, security_group_ids)

    def disassociate_security_groups(
        self, eni_ids: Sequence[EniId], security_group_ids: Sequence[SecurityGroupId]
    ) -> None:
        self._security_groups("DisassociateNetworkInterfaceSecurityGroups", eni_ids, security_group_ids)

    def _security_groups(
        self, action: str, eni_ids: Sequence[EniId], security_group_ids: Sequence[SecurityGroupId]
    ) -> None:
        if not eni_ids or not security_group_ids:
            raise ValueError("need at least one ENI and one security group")
        params = {"NetworkInterfaceIds": list(eni_ids), "SecurityGroupIds": list(security_group_ids)}
        self._core.mutate_vpc(action, params, invalidate=("eni",), asynchronous=False)

    def describe_enis(
        self,
        *,
        instance_id: InstanceId | None = None,
        eni_ids: Sequence[EniId] | None = None,
        vpc_id: VpcId | None = None,
        subnet_id: SubnetId | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[Eni, ...]:
        filters: dict[str, list[str]] = {}
        if instance_id:
            filters["attachment.instance-id"] = [instance_id]
        if subnet_id:
            filters["subnet-id"] = [subnet_id]
        for tag_key, tag_value in (tags or {}).items():
            filters[f"tag:{tag_key}"] = [tag_value]
        if eni_ids is not None:
            if filters or vpc_id:
                raise ValueError("eni_ids cannot be combined with other filters (the API refuses it)")
            return self._enis_by_ids(tuple(dict.fromkeys(eni_ids)))
        vpc = vpc_id or self._core.settings.vpc_id
        if vpc:
            filters["vpc-id"] = [vpc]
        key = tuple(sorted((name, tuple(values)) for name, values in filters.items()))
        return self._core.cache.get_or_load("eni", ("filters", key), lambda: self._enis_by_filters(filters))

    def _enis_by_ids(self, eni_ids: tuple[EniId, ...]) -> tuple[Eni, ...]:
        if not eni_ids:
            return ()

        def load() -> tuple[Eni, ...]:
            found: list[Eni] = []
            for start in range(0, len(eni_ids), _MAX_IDS_PER_CALL):
                chunk = list(eni_ids[start : start + _MAX_IDS_PER_CALL])
                raw = self._core.paged(
                    "vpc", "DescribeNetworkInterfaces", {"NetworkInterfaceIds": chunk}, "NetworkInterfaceSet"
                )
                found.extend(parse("DescribeNetworkInterfaces", eni_from, item) for item in raw)
            return tuple(found)

        return self._core.cache.get_or_load("eni", ("ids", eni_ids), load)

    def _enis_by_filters(self, filters: Mapping[str, list[str]]) -> tuple[Eni, ...]:
        raw_filters = [{"Name": name, "Values": values} for name, values in filters.items()]
        params = {"Filters": raw_filters} if raw_filters else {}
        raw = self._core.paged("vpc", "DescribeNetworkInterfaces", params, "NetworkInterfaceSet")
        return tuple(parse("DescribeNetworkInterfaces", eni_from, item) for item in raw)

    def _await_attached(self, eni_id: EniId, instance_id: InstanceId) -> None:
        """Poll (uncached) until ``eni_id`` is AVAILABLE on ``instance_id``; bounded by the task timeout."""
        settings = self._core.settings
        for _ in range(math.ceil(settings.task_timeout / settings.task_poll_interval) + 1):
            self._core.tasks.sleep()
            raw = self._core.paged(
                "vpc", "DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]}, "NetworkInterfaceSet"
            )
            enis = [parse("DescribeNetworkInterfaces", eni_from, item) for item in raw]
            if not enis:
                raise NotFound("ResourceNotFound", f"{eni_id} disappeared while attaching")
            attachment = enis[0].attachment
            if attachment is None or attachment.instance_id != instance_id:
                where = attachment.instance_id if attachment else "nothing"
                raise Conflict(ATTACHMENT_EXISTS, f"{eni_id} is attached to {where}, not {instance_id}")
            if enis[0].state is EniState.AVAILABLE:
                return
        raise TaskTimeout(TASK_TIMEOUT_CODE, f"{eni_id} still attaching to {instance_id}")

    def _primary_enis(self, instance_ids: Sequence[InstanceId]) -> dict[InstanceId, Eni]:
        """The primary ENI of each instance that has one, in at most ceil(n/5) calls."""
        primaries: dict[InstanceId, Eni] = {}
        for start in range(0, len(instance_ids), _MAX_FILTER_VALUES):
            chunk = list(instance_ids[start : start + _MAX_FILTER_VALUES])
            filters = [{"Name": "attachment.instance-id", "Values": chunk}]
            raw = self._core.paged("vpc", "DescribeNetworkInterfaces", {"Filters": filters}, "NetworkInterfaceSet")
            for item in raw:
                eni = parse("DescribeNetworkInterfaces", eni_from, item)
                if eni.primary and eni.attachment is not None:
                    primaries[eni.attachment.instance_id] = eni
        return primaries

