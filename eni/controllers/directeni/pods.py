"""Which pods want an exclusive ENI (``tke.cloud.tencent.com/networks: tke-direct-eni``).

Pure functions over plain pod objects, plus one cached read of a node's pods; never writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eni.api.v1 import NetworkName
from eni.api.v1.constants import ANNOTATION_NETWORKS
from eni.runtime.client.interfaces import Reader
from eni.runtime.meta import POD, Obj

TERMINATED_PHASES = ("Succeeded", "Failed")


def wants_direct_eni(pod: Mapping[str, Any]) -> bool:
    """True for a pod (not on the host network) whose networks annotation asks for an exclusive ENI."""
    if (pod.get("spec") or {}).get("hostNetwork") is True:
        return False
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_NETWORKS)
    return value is not None and value.strip() == NetworkName.DIRECT_ENI.value


def is_live(pod: Mapping[str, Any]) -> bool:
    """True until the pod has terminated; a pod being deleted may still hold its ENI."""
    return (pod.get("status") or {}).get("phase") not in TERMINATED_PHASES


def direct_pods(reader: Reader, node: str) -> list[Obj]:
    """The live pods bound to ``node`` that want an exclusive ENI."""
    return [p for p in reader.list(POD, field_selector=f"spec.nodeName={node}") if wants_direct_eni(p) and is_live(p)]
