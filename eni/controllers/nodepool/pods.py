"""How many IPs a node's pods hold, before its agent has ever reported.

Once the agent reports, its ``status.agent.inUseIPs`` is the truth; until then ipamd counts the
pods bound to the node that request ``tke.cloud.tencent.com/eni-ip`` and have not terminated. Reads
only: must never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eni.api.v1.constants import RESOURCE_ENI_IP
from eni.runtime.client.interfaces import Reader
from eni.runtime.meta import POD

TERMINATED = ("Succeeded", "Failed")


def requests_eni_ip(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or ():
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            if RESOURCE_ENI_IP in (resources.get(part) or {}):
                return True
    return False


def count_ip_pods(reader: Reader, node: str) -> int:
    pods = reader.list(POD, field_selector=f"spec.nodeName={node}")
    return sum(1 for pod in pods
               if requests_eni_ip(pod) and (pod.get("status") or {}).get("phase") not in TERMINATED
               and not (pod.get("metadata") or {}).get("deletionTimestamp"))
