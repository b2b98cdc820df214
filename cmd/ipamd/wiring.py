"""Builds tke-eni-ipamd's concrete parts from validated settings and runs them.

The controllers (node pools, ENI and IP lifecycle, claims, EIPs, security groups, GC) are not part
of this build yet, so ``start`` says so plainly and returns 2 instead of pretending to run.
"""

from __future__ import annotations

import sys

from .settings import IpamdSettings

NOT_IMPLEMENTED_STATUS = 2


def start(settings: IpamdSettings) -> int:
    """Run until stopped; returns the process exit status."""
    print(
        "tke-eni-ipamd: settings are valid, but the ipamd controllers (ENI/IP pools, claims, EIPs, "
        "security groups, GC) are not implemented in this build yet; nothing was started.",
        file=sys.stderr,
    )
    return NOT_IMPLEMENTED_STATUS
