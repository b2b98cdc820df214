"""What a node's exclusive-ENI pass works on and what it reports back to the node pool reconciler.

The reconciler builds one ``DirectContext`` per pass (its ``direct`` map is changed in place and rendered
into the NEC status by the reconciler, the status's only writer) and folds the ``DirectOutcome`` into its
conditions, Node taint and requeue. Values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eni.api.v1 import Condition, ConditionStatus, IPState, NodeENIConfig, VpcENI
from eni.controllers import events
from eni.controllers.metrics import IpamdMetrics
from eni.controllers.nec.limits import NodeLimits

from .model import DirectEni


@dataclass
class DirectContext:
    name: str
    node_obj: Mapping[str, Any]
    nec: NodeENIConfig
    annotations: dict[str, str]
    """The NEC's annotations; the intent counter in it is kept in step with every cloud call."""
    direct: dict[str, DirectEni]
    limits: NodeLimits
    security_groups: tuple[str, ...]
    in_use: set[str]
    """The agent's inUseENIs."""
    released: set[str]
    """The agent's releasedENIs."""
    reported: bool
    """The agent has written its status at least once."""
    keeping: list[VpcENI] = field(default_factory=list)


@dataclass
class DirectOutcome:
    limited: str = ""
    """Why the node cannot get the exclusive ENIs it needs (empty: it can)."""
    waiting: bool = False
    """Static-IP mode: something waits for another node or a retry; look again after the static wait interval."""

    def with_condition(self, conditions: list[Condition]) -> list[Condition]:
        """``conditions`` plus ENILimitReached for exclusive ENIs, unless the shared ENIs already report it."""
        if not self.limited or any(c.type == events.CONDITION_ENI_LIMIT_REACHED for c in conditions):
            return conditions
        return [*conditions, Condition(type=events.CONDITION_ENI_LIMIT_REACHED, status=ConditionStatus.TRUE,
                                       reason=events.ENI_LIMIT, message=self.limited)]


def export_direct(metrics: IpamdMetrics, ctx: DirectContext) -> None:
    """The node's exclusive-ENI gauges after a pass."""
    for state in IPState:
        metrics.direct_enis.labels(ctx.name, state.value).set(sum(1 for d in ctx.direct.values() if d.state is state))
    metrics.used_direct_enis.labels(ctx.name).set(len(ctx.in_use & set(ctx.direct)))
