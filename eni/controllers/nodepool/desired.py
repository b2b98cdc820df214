"""The Node annotation ``tke.cloud.tencent.com/desired-route-eni-pod-num``: a floor under the node's pool.

Semantics (non-static mode): the number of route-ENI IPs the node should keep bound whatever its pods and
warm targets say — the pool's window ``[pods + minWarm, pods + maxWarm]`` is raised to at least this many,
still capped by the node's limit (``maxENI x IPsPerENI``). Useful to pre-warm a node before a burst of pods.
Unset means no floor. An invalid value (not a whole number >= 0) is ignored — no floor — and reported.
Pure: this module must never talk to the API or the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eni.api.v1.constants import parse_desired_route_eni_pod_num
from eni.api.v1.errors import AnnotationError


def desired_floor(node: Mapping[str, Any]) -> tuple[int, str | None]:
    """``(floor, problem)``: the bound-IP floor the Node asks for, and why its annotation was refused.

    >>> desired_floor({"metadata": {"annotations": {"tke.cloud.tencent.com/desired-route-eni-pod-num": "12"}}})
    (12, None)
    >>> desired_floor({"metadata": {}})
    (0, None)
    >>> desired_floor({"metadata": {"annotations": {"tke.cloud.tencent.com/desired-route-eni-pod-num": "-1"}}})[0]
    0
    """
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    try:
        return parse_desired_route_eni_pod_num(annotations) or 0, None
    except AnnotationError as e:
        return 0, str(e)
