"""What ipamd publishes on the Node object itself: the route-ENI subnets label and the no-IP taint.

- Label ``tke.cloud.tencent.com/route-eni-subnet-ids``: the subnets of the node's ENIs (the api's
  formatter: sorted, ``_``-joined), patched only when it differs from the Node's current value and
  removed once the node has no ENIs.
- Taint ``tke.cloud.tencent.com/eni-ip-unavailable:NoSchedule`` (``--enable-node-taint``): set while
  ipamd cannot give the node a pod IP, removed once it can. The taint list is rewritten with a JSON
  patch that first tests the Node's resourceVersion, so a taint another party changed meanwhile is
  never lost (the patch fails and the next pass recomputes from fresh data).

Must never touch a taint or label it does not own, and never raise: a failed write is logged and
retried at the node's next pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eni.api.v1.constants import LABEL_ROUTE_ENI_SUBNET_IDS, PREFIX, format_route_eni_subnet_ids
from eni.api.v1.errors import AnnotationError
from eni.controllers import events
from eni.runtime import log as kvlog
from eni.runtime.client.errors import ApiError
from eni.runtime.client.interfaces import Client, PatchType
from eni.runtime.events import EventRecorder
from eni.runtime.meta import NODE, ObjectKey

log = kvlog.get_logger(__name__)

TAINT_KEY = PREFIX + "eni-ip-unavailable"
"""The only taint key ipamd ever writes or removes."""
TAINT_EFFECT = "NoSchedule"
TAINT_VALUE = "true"


def _metadata(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return node.get("metadata") or {}


def subnet_label_patch(node: Mapping[str, Any], subnet_ids: Iterable[str]) -> dict[str, Any] | None:
    """The merge patch that makes the label name exactly ``subnet_ids``; None when it already does.

    >>> subnet_label_patch({"metadata": {"labels": {}}}, ["subnet-b", "subnet-a"])
    {'metadata': {'labels': {'tke.cloud.tencent.com/route-eni-subnet-ids': 'subnet-a_subnet-b'}}}
    >>> subnet_label_patch({"metadata": {"labels": {LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a"}}}, [])
    {'metadata': {'labels': {'tke.cloud.tencent.com/route-eni-subnet-ids': None}}}
    >>> subnet_label_patch({"metadata": {}}, []) is None
    True
    """
    wanted = format_route_eni_subnet_ids(subnet_ids) or None
    current = (_metadata(node).get("labels") or {}).get(LABEL_ROUTE_ENI_SUBNET_IDS)
    if current == wanted:
        return None
    return {"metadata": {"labels": {LABEL_ROUTE_ENI_SUBNET_IDS: wanted}}}


def _is_ours(taint: Any) -> bool:
    return isinstance(taint, Mapping) and taint.get("key") == TAINT_KEY and taint.get("effect") == TAINT_EFFECT


def taint_patch(node: Mapping[str, Any], *, tainted: bool) -> list[dict[str, Any]] | None:
    """The JSON patch that adds or removes ipamd's taint, guarded by the Node's resourceVersion;
    None when the Node already is as wanted. Every other taint is kept as it is, in order.

    >>> taint_patch({"metadata": {"resourceVersion": "7"}, "spec": {}}, tainted=False) is None
    True
    >>> [op["op"] for op in taint_patch({"metadata": {"resourceVersion": "7"}, "spec": {}}, tainted=True)]
    ['test', 'add']
    """
    spec = node.get("spec") or {}
    taints: Sequence[Any] = spec.get("taints") or ()
    present = any(_is_ours(t) for t in taints)
    if present == tainted:
        return None
    guard = {"op": "test", "path": "/metadata/resourceVersion", "value": _metadata(node).get("resourceVersion")}
    if tainted:
        ours = {"key": TAINT_KEY, "value": TAINT_VALUE, "effect": TAINT_EFFECT}
        ops: list[dict[str, Any]] = [guard]
        if not isinstance(node.get("spec"), Mapping):
            ops.append({"op": "add", "path": "/spec", "value": {}})
        ops.append({"op": "add", "path": "/spec/taints", "value": [*taints, ours]})
        return ops
    kept = [t for t in taints if not _is_ours(t)]
    if kept:
        return [guard, {"op": "replace", "path": "/spec/taints", "value": kept}]
    return [guard, {"op": "remove", "path": "/spec/taints"}]


def publish_node_facts(client: Client, node: Mapping[str, Any], *, subnet_ids: Iterable[str] | None,
                       tainted: bool, recorder: EventRecorder | None = None) -> None:
    """Bring the Node's subnets label (unless ``subnet_ids`` is None: unknown) and ipamd's taint up to date,
    with an Event on the Node when the taint changed; never raises."""
    name = str(_metadata(node).get("name") or "")
    key = ObjectKey(namespace="", name=name)
    try:
        label = None if subnet_ids is None else subnet_label_patch(node, subnet_ids)
    except AnnotationError as e:  # too many subnets for one label value: say so, leave the label alone
        log.warning("Cannot label the node with its ENI subnets", node=name, error=str(e))
        label = None
    if label is not None:
        try:
            node = client.patch(NODE, key, label, patch_type=PatchType.MERGE)  # newer resourceVersion
        except ApiError as e:
            log.warning("Could not write the node's subnets label", node=name, error=str(e))
    taint = taint_patch(node, tainted=tainted)
    if taint is not None:
        try:
            client.patch(NODE, key, taint, patch_type=PatchType.JSON)
            log.info("Node taint changed", node=name, taint=TAINT_KEY, tainted=tainted)
            if recorder is not None:
                recorder.event(node, kind=NODE, reason=events.NODE_TAINTED if tainted else events.NODE_UNTAINTED,
                               message=f"{'added' if tainted else 'removed'} taint {TAINT_KEY}:{TAINT_EFFECT}: the "
                                       f"node {'has no free pod IP and cannot get one' if tainted else 'has pod IPs'}")
        except ApiError as e:  # a concurrent change of the Node: the next pass recomputes
            log.warning("Could not change the node's taint", node=name, tainted=tainted, error=str(e))
