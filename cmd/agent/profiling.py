"""An opt-in CPU profile of the whole agent process: every thread, on its own CPU clock.

``ENI_AGENT_CPU_PROFILE=<file>`` makes ``profiled`` run the daemon under ``cProfile`` in every thread (threads
started later included) with ``time.thread_time`` as the clock, so a thread that waits costs nothing, and write the
merged statistics to ``<file>`` (read with ``python -m pstats <file>``) when the daemon returns. For measuring
(``hack/bench/cni.py --agent-profile``); profiling slows the agent down about twofold.

Must never: be active without the variable, or lose the daemon's exit status.
"""

from __future__ import annotations

import cProfile
import pstats
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROFILE_VARIABLE = "ENI_AGENT_CPU_PROFILE"
_RUN = "run"


def profiled(run: Callable[[], int], output: Path) -> int:
    """``run()`` with every thread profiled; the merged profile is written to ``output`` afterwards."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def new_profile() -> cProfile.Profile:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        return profile

    def profiled_run(thread: threading.Thread) -> None:
        profile = new_profile()
        profile.enable()
        try:
            original_run(thread)
        finally:
            profile.disable()

    main = new_profile()
    setattr(threading.Thread, _RUN, profiled_run)  # NB: threads started from now on profile themselves
    main.enable()
    try:
        return run()
    finally:
        main.disable()
        setattr(threading.Thread, _RUN, original_run)
        _write(profiles, output)


def _write(profiles: list[Any], output: Path) -> None:
    merged: pstats.Stats | None = None
    for profile in profiles:
        try:
            if merged is None:
                merged = pstats.Stats(profile)
            else:
                merged.add(profile)
        except TypeError:
            continue  # NB: a thread that never ran a profiled call has no statistics
    if merged is not None:
        merged.dump_stats(str(output))
