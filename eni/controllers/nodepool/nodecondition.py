"""The optional Node condition ``ENILimitReached`` (``--enable-node-condition``).

Written with a strategic merge patch on the Node's status subresource, which merges conditions by
type, so the kubelet's own conditions are never touched; written only when status or message
changed. Never raises: a failed write is retried at the next pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from eni.api.v1.codec import format_time
from eni.controllers import events
from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError
from eni.runtime.client.interfaces import Client, PatchType
from eni.runtime.meta import NODE, ObjectKey

log = kvlog.get_logger(__name__)


def report_node_condition(client: Client, node: Mapping[str, Any], *, limited: bool, message: str,
                          now: datetime) -> None:
    status = "True" if limited else "False"
    message = message if limited else "the node can get the ENIs and IPs it needs"
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == events.CONDITION_ENI_LIMIT_REACHED:
            if condition.get("status") == status and condition.get("message") == message:
                return
            break
    else:
        if not limited:
            return  # never reported: nothing to clear
    stamp = format_time(now)
    patch = {"status": {"conditions": [{
        "type": events.CONDITION_ENI_LIMIT_REACHED, "status": status, "reason": events.ENI_LIMIT if limited
        else "ENIsAvailable", "message": message, "lastTransitionTime": stamp, "lastHeartbeatTime": stamp}]}}
    name = str((node.get("metadata") or {}).get("name") or "")
    try:
        client.patch(NODE, ObjectKey(namespace="", name=name), patch, patch_type=PatchType.STRATEGIC,
                     subresource="status")
    except ApiError as e:
        log.warning("Could not write the node condition", node=name, error=str(e))
