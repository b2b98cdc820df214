"""Keeps every ENI of a node bound to exactly the NEC's ``spec.securityGroupIds``, in order.

With ``--enable-security-groups`` the desired list is the NEC's (filled at creation from
``--security-groups`` or the instance's primary ENI); the Node annotation
``disable-node-eni-security-groups: "yes"`` makes it empty and ``"no"`` (or no annotation) restores
it. Any ENI whose ordered list differs gets the whole list replaced in one call. Without the flag
this never calls the cloud. Failures become Warning Events, never exceptions: the IP pool must not
wait for a security group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eni.api.v1 import NODE_ENI_CONFIG, NodeENIConfig
from eni.api.v1.constants import parse_disable_node_eni_security_groups
from eni.api.v1.errors import AnnotationError
from eni.cloud.errors import CloudError
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import Eni, SecurityGroupId
from eni.controllers import events
from eni.controllers.metrics import CloudCalls
from eni.runtime.events import EventRecorder


class SecurityGroupSync:
    def __init__(self, vpc: VpcApi, calls: CloudCalls, *, enabled: bool) -> None:
        self._vpc = vpc
        self._calls = calls
        self.enabled = enabled

    def desired(self, nec: NodeENIConfig, node: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The ordered groups every ENI of the node should carry (empty when disabled on the node)."""
        if not self.enabled:
            return ()
        annotations = ((node or {}).get("metadata") or {}).get("annotations") or {}
        try:
            disabled = parse_disable_node_eni_security_groups(annotations)
        except AnnotationError:
            disabled = None  # an unreadable value changes nothing
        return () if disabled else tuple(nec.spec.security_group_ids)

    def _modify(self, eni: Eni, groups: list[SecurityGroupId]) -> None:
        self._calls.call("ModifyNetworkInterfaceAttribute",
                         lambda: self._vpc.modify_eni_attribute(eni.id, security_group_ids=groups))

    def sync(self, nec: NodeENIConfig, node: Mapping[str, Any], enis: Sequence[Eni], *, recorder: EventRecorder,
             raw_nec: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        want = self.desired(nec, node)
        for eni in enis:
            if tuple(eni.security_group_ids) == want:
                continue
            groups = [SecurityGroupId(g) for g in want]
            try:
                self._modify(eni, groups)
            except CloudError as e:
                recorder.event(raw_nec, reason=events.SECURITY_GROUP_SYNC_FAILED, type="Warning",
                               message=f"ENI {eni.id}: {e}", kind=NODE_ENI_CONFIG)
                recorder.event(node, reason=events.SECURITY_GROUP_SYNC_FAILED, type="Warning",
                               message=f"ENI {eni.id}: {e}")
