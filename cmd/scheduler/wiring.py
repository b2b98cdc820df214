"""Builds tke-eni-ip-scheduler's concrete parts from validated settings and runs them.

The extender (filter and prioritize over informer caches) is not part of this build yet, so
``start`` says so plainly and returns 2 instead of pretending to serve.
"""

from __future__ import annotations

import sys

from .settings import SchedulerSettings

NOT_IMPLEMENTED_STATUS = 2


def start(settings: SchedulerSettings) -> int:
    """Serve until stopped; returns the process exit status."""
    print(
        "tke-eni-ip-scheduler: settings are valid, but the scheduler extender (filter, prioritize) is not "
        "implemented in this build yet; nothing was started.",
        file=sys.stderr,
    )
    return NOT_IMPLEMENTED_STATUS
