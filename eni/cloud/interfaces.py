"""The ``VpcApi`` Protocol: everything ipamd asks of the cloud, in domain terms.

Controllers depend on this Protocol and on ``eni.cloud.types``/``eni.cloud.errors`` only; the Tencent
adapter (``eni.cloud.tencent.TencentVpc``) and test doubles implement it. Method names are the
snake_case forms of the cloud's actions; arguments and results are typed values, never raw payloads.

Contract shared by every method:
- Thread-safety: implementations are safe to call from many threads at once.
- Blocking: each call returns when the change has taken effect (asynchronous cloud tasks are waited
  for) or raises; every wait is bounded by the implementation's configured timeouts.
- Retries: implementations retry ``retryable`` errors (throttling, busy, unavailable) with bounded
  backoff before raising. A raised retryable error means the budget ran out; the caller may retry later.
- Idempotency: ``create_eni``, ``assign_private_ips`` and ``allocate_eips`` take an ``intent``: a string
  naming one desired outcome (e.g. ``"node-a/eni-3"`` or ``"pod ns/name uid"``). The same intent — even from
  a new process after a crash — yields the same cloud resources instead of new ones. An intent must never
  be reused for a different desire. Deletes, detaches and unassigns that were retried after a lost reply
  treat "already gone" as success.
- Ownership: returned values are frozen and may be shared; describe results may come from a short
  TTL cache that every mutation through the same instance invalidates.
- Errors: only ``eni.cloud.errors.CloudError`` subclasses are raised for cloud failures; ``ValueError``
  is raised, before any call is made, for arguments that can never be valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from eni.cloud.types import (
    AttachType,
    Eip,
    EipId,
    Eni,
    EniId,
    EniLimits,
    Instance,
    InstanceId,
    PrivateIp,
    SecurityGroupId,
    Subnet,
    SubnetId,
    VpcId,
)

__all__ = ["MAX_IPS_PER_CALL", "VpcApi"]

MAX_IPS_PER_CALL = 10
"""The cloud's limit of private IPs per Assign/Unassign call; larger requests are split."""


class VpcApi(Protocol):
    """Typed access to the VPC and CVM APIs of one region and VPC. See the module docstring."""

    # ENIs

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
        """Create an unattached ENI in ``subnet_id``, tagged with the cluster's marker tags plus ``tags``."""
        ...

    def attach_eni(
        self, eni_id: EniId, instance_id: InstanceId, *, attach_type: AttachType = AttachType.STANDARD
    ) -> None:
        """Attach an available ENI to an instance in the same zone."""
        ...

    def detach_eni(self, eni_id: EniId, instance_id: InstanceId) -> None:
        """Detach an ENI from an instance; the ENI and its IPs remain."""
        ...

    def delete_eni(self, eni_id: EniId) -> None:
        """Delete an unattached ENI and release its IPs."""
        ...

    def modify_eni_attribute(
        self,
        eni_id: EniId,
        *,
        name: str | None = None,
        description: str | None = None,
        security_group_ids: Sequence[SecurityGroupId] | None = None,
    ) -> None:
        """Change an ENI's name, description or (replacing them) security groups; ``None`` keeps a field."""
        ...

    def associate_security_groups(
        self, eni_ids: Sequence[EniId], security_group_ids: Sequence[SecurityGroupId]
    ) -> None:
        """Add security groups to ENIs."""
        ...

    def disassociate_security_groups(
        self, eni_ids: Sequence[EniId], security_group_ids: Sequence[SecurityGroupId]
    ) -> None:
        """Remove security groups from ENIs."""
        ...

    def describe_enis(
        self,
        *,
        instance_id: InstanceId | None = None,
        eni_ids: Sequence[EniId] | None = None,
        vpc_id: VpcId | None = None,
        subnet_id: SubnetId | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[Eni, ...]:
        """ENIs matching every given filter, all pages; ids that do not exist are simply absent.

        ``eni_ids`` cannot be combined with other filters (``ValueError``). With no argument at all,
        every ENI of the adapter's VPC.
        """
        ...

    def describe_eni_limits(self, instance_id: InstanceId) -> EniLimits:
        """The ENI and IP quotas of an instance."""
        ...

    # Private IPs

    def assign_private_ips(
        self,
        eni_id: EniId,
        *,
        intent: str,
        count: int = 0,
        addresses: Sequence[str] = (),
    ) -> tuple[PrivateIp, ...]:
        """Assign ``count`` new secondary IPs, or exactly ``addresses`` (give one of the two).

        Split into calls of at most ``MAX_IPS_PER_CALL``; if a later call fails, ``PartialOutcome``
        names the addresses the earlier calls assigned.
        """
        ...

    def unassign_private_ips(self, eni_id: EniId, addresses: Sequence[str]) -> None:
        """Return secondary IPs to the subnet; split and reported like ``assign_private_ips``."""
        ...

    def migrate_private_ip(self, address: str, *, source_eni_id: EniId, destination_eni_id: EniId) -> None:
        """Move a secondary IP between two ENIs of the same subnet."""
        ...

    # Subnets and instances

    def describe_subnets(
        self,
        subnet_ids: Sequence[SubnetId] | None = None,
        *,
        vpc_id: VpcId | None = None,
        zone: str | None = None,
    ) -> tuple[Subnet, ...]:
        """Subnets by id, or all subnets of a VPC and/or zone."""
        ...

    def describe_instances(self, instance_ids: Sequence[InstanceId]) -> tuple[Instance, ...]:
        """Instances by id, with their primary ENI when it can be found."""
        ...

    # Elastic public IPs

    def allocate_eips(
        self,
        *,
        intent: str,
        count: int = 1,
        bandwidth: int = 100,
        isp: str = "BGP",
        tags: Mapping[str, str] | None = None,
    ) -> tuple[Eip, ...]:
        """Allocate unbound EIPs (bandwidth in Mbit/s; isp one of BGP, CMCC, CTCC, CUCC)."""
        ...

    def associate_eip(self, eip_id: EipId, *, eni_id: EniId, private_ip: str) -> None:
        """Bind an EIP to one private IP of an ENI."""
        ...

    def disassociate_eip(self, eip_id: EipId) -> None:
        """Unbind an EIP; it stays allocated."""
        ...

    def release_eips(self, eip_ids: Sequence[EipId]) -> None:
        """Release unbound EIPs back to the provider."""
        ...

    def describe_eips(
        self, eip_ids: Sequence[EipId] | None = None, *, tags: Mapping[str, str] | None = None
    ) -> tuple[Eip, ...]:
        """EIPs by id, or those carrying all ``tags``."""
        ...
