"""Verdict: what judging one node for one pod yields, a score when it fits or why it does not.

Shared by the shared-ENI rule (``eni.scheduler.assess``), the exclusive-ENI rule (``eni.scheduler.direct``) and
the step both start with (``eni.scheduler.candidates``). Values only; nothing here judges anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from eni.scheduler.model import INSUFFICIENT_IP_OR_ENI, reason

SCORE_EXISTING_ENI = 10
"""An attached ENI serves the pod: one IP assignment at most (a free slot, a warm or reserved exclusive ENI)."""
SCORE_NEW_ENI = 5
"""The node must create and attach an ENI first: slower and uses up an ENI."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """A node's fitness for a pod: a score when it fits, else the failure message.

    ``unresolvable`` marks failures no preemption can fix (zone, configuration, a limit of 0), so that
    kube-scheduler evicts no pod for them.
    """

    score: int = 0
    failure: str = ""
    unresolvable: bool = False

    @property
    def fits(self) -> bool:
        return not self.failure


FITS_EXISTING_ENI = Assessment(score=SCORE_EXISTING_ENI)
FITS_NEW_ENI = Assessment(score=SCORE_NEW_ENI)
NOT_CONFIGURED = Assessment(failure=reason(INSUFFICIENT_IP_OR_ENI, "the node has no NodeENIConfig"),
                            unresolvable=True)
