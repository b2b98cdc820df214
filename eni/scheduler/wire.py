"""kube-scheduler's extender protocol on the wire (k8s.io/kube-scheduler/extender/v1), as plain JSON.

The Go types carry no json tags, so the keys are the Go field names:
- request (filter and prioritize): ExtenderArgs ``{"Pod": Pod, "Nodes": NodeList | null, "NodeNames": [str] | null}``;
  kube-scheduler fills ``NodeNames`` when the extender is ``nodeCacheCapable`` and ``Nodes`` otherwise;
- filter answer: ExtenderFilterResult ``{"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes",
  "Error"}``, naming the passing nodes the same way the request named the candidates;
- prioritize answer: HostPriorityList ``[{"Host": str, "Score": int}]`` with scores 0..10.
Go's decoder matches keys case-insensitively, so this decoder does too (an exact match wins). Anything that
does not fit raises ``ArgsError`` with a message for the HTTP 400 body; nothing here touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eni.scheduler.filter import FilterOutcome


class ArgsError(ValueError):
    """The request body is not an ExtenderArgs."""


@dataclass(frozen=True, slots=True)
class ExtenderArgs:
    """A decoded filter or prioritize request."""

    pod: Mapping[str, Any]
    nodes: Mapping[str, Any] | None = None
    """The NodeList as sent (nodeCacheCapable: false); None when names were sent."""
    node_names: tuple[str, ...] | None = None
    """Candidate node names (nodeCacheCapable: true); None when a NodeList was sent."""

    @property
    def candidates(self) -> list[str]:
        """Names of the candidate nodes, in request order."""
        if self.node_names is not None:
            return list(self.node_names)
        items = (self.nodes or {}).get("items") or []
        return [_node_name(item) for item in items]


def _node_name(node: Mapping[str, Any]) -> str:
    metadata = node.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else ""


def _field(body: Mapping[str, Any], name: str) -> Any:
    """Go's encoding/json lookup: the exact key, else the first key equal ignoring case."""
    if name in body:
        return body[name]
    lowered = name.lower()
    for key, value in body.items():
        if key.lower() == lowered:
            return value
    return None


def decode_args(body: bytes) -> ExtenderArgs:
    """Parse an ExtenderArgs request body; raise ArgsError saying what is wrong."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ArgsError(f"the body is not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ArgsError("the body must be a JSON object (ExtenderArgs)")
    pod = _field(raw, "Pod")
    if not isinstance(pod, dict) or not isinstance(pod.get("metadata"), dict):
        raise ArgsError("Pod must be a Pod object with metadata")
    nodes, names = _field(raw, "Nodes"), _field(raw, "NodeNames")
    if names is not None:
        if not isinstance(names, list) or not set(map(type, names)) <= {str}:
            raise ArgsError("NodeNames must be a list of node names")
        return ExtenderArgs(pod=pod, node_names=tuple(names))
    if nodes is not None:
        items = nodes.get("items") if isinstance(nodes, dict) else ()
        if not isinstance(items, list | type(None)) or not all(
                isinstance(item, dict) and _node_name(item) for item in items or ()):
            raise ArgsError("Nodes must be a NodeList whose items are named Node objects")
        return ExtenderArgs(pod=pod, nodes=nodes)
    raise ArgsError("either Nodes or NodeNames must be given")


def filter_result(args: ExtenderArgs, outcome: FilterOutcome) -> dict[str, Any]:
    """The ExtenderFilterResult for ``outcome``, naming passing nodes as the request named candidates."""
    result: dict[str, Any] = {"Nodes": None, "NodeNames": None, "FailedNodes": outcome.failed,
                              "FailedAndUnresolvableNodes": outcome.unresolvable, "Error": ""}
    if args.node_names is not None:
        result["NodeNames"] = outcome.passed
    else:
        passed = set(outcome.passed)
        listed = dict(args.nodes or {})
        listed["items"] = [item for item in listed.get("items") or () if _node_name(item) in passed]
        result["Nodes"] = listed
    return result


def passthrough_result(args: ExtenderArgs) -> dict[str, Any]:
    """Every candidate passes: the answer for a pod the extender does not manage."""
    return {"Nodes": args.nodes, "NodeNames": list(args.node_names) if args.node_names is not None else None,
            "FailedNodes": {}, "FailedAndUnresolvableNodes": {}, "Error": ""}


def error_result(message: str) -> dict[str, Any]:
    """An ExtenderFilterResult that fails the whole call (kube-scheduler retries the pod later)."""
    return {"Nodes": None, "NodeNames": None, "FailedNodes": {}, "FailedAndUnresolvableNodes": {}, "Error": message}


def host_priorities(scores: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """A HostPriorityList."""
    return [{"Host": host, "Score": score} for host, score in scores]


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
