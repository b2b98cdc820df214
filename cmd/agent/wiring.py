"""Builds tke-eni-agent's concrete parts from validated settings and runs them.

The node daemon's loops (CNI install, ENI and policy-routing set-up, the API servers, IP GC,
device plugins) are not wired into this program yet, so ``start`` says so plainly and returns 2
instead of pretending to run.
"""

from __future__ import annotations

import sys

from .settings import AgentSettings

NOT_IMPLEMENTED_STATUS = 2


def start(settings: AgentSettings) -> int:
    """Run until stopped; returns the process exit status."""
    print(
        "tke-eni-agent: settings are valid, but the node daemon (CNI install, ENI set-up, pod IP API, IP GC, "
        "device plugins) is not implemented in this build yet; nothing was started.",
        file=sys.stderr,
    )
    return NOT_IMPLEMENTED_STATUS
