#!/usr/bin/env python3
"""Checks the RBAC of every tke-eni program in the rendered overlays against the API calls of its code.

Usage: ``.venv/bin/python hack/rbac/check.py [--calls]``. Prints, per program, the calls derived from the
source (``--calls`` adds where each is made) and what its ServiceAccount's roles grant; exits 1 when a call
is not granted or a grant is unused. The manifests tests run the same comparison.
"""

from __future__ import annotations

import argparse
import sys

from manifests import OVERLAYS, render
from rbac_rules import AHEAD_OF_CODE, compare
from rbac_scan import PROGRAMS, scan

NAMESPACE = "kube-system"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", action="store_true", help="show where the code makes each call")
    args = parser.parse_args(argv)
    failed = False
    overlays = [render(name) for name in OVERLAYS]
    for program in PROGRAMS:
        calls = scan(program)
        print(f"{program.name} (ServiceAccount {NAMESPACE}/{program.service_account})")
        for call, sites in sorted(calls.items()):
            where = f"   {', '.join(sorted({str(s) for s in sites}))}" if args.calls else ""
            print(f"  uses {call}{where}")
        for entry in AHEAD_OF_CODE.get(program.name, ()):
            print(f"  granted ahead of code: {entry.call} ({entry.reason})")
        for rendered in overlays:
            rules = [rule for _, rule in rendered.rules_of(program.service_account, NAMESPACE)]
            if not rules and not any(w["spec"]["template"]["spec"].get("serviceAccountName")
                                     == program.service_account for w in rendered.workloads()):
                continue  # the program is not part of this overlay
            outcome = compare(program.name, used=calls, rules=rules)
            for call in outcome.missing:
                print(f"  [{rendered.overlay}] MISSING grant: {call}")
            for call in outcome.unused:
                print(f"  [{rendered.overlay}] UNUSED grant: {call}")
            for call in outcome.stale_ahead:
                print(f"  [{rendered.overlay}] note: now used by the code, drop it from AHEAD_OF_CODE: {call}")
            for call in outcome.ungranted_ahead:
                print(f"  [{rendered.overlay}] listed in AHEAD_OF_CODE but NOT granted: {call}")
            failed |= not outcome.ok
    print("RBAC does not match the code" if failed else "RBAC matches the code")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
