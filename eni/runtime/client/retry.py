"""Optimistic-concurrency helpers: retry a read-modify-write when someone else wrote first.

``retry_on_conflict`` reruns a function while it raises ConflictError (client-go's ``RetryOnConflict`` with
``DefaultRetry``: 5 tries, 10 ms apart with jitter). ``mutate_with_retry`` is the usual loop on top: get the
live object, deep-copy it, let a function change it, and update it with the resourceVersion it was read at.
Other errors propagate at once; nothing here swallows an error.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from typing import TypeVar

from eni.runtime.client.errors import ConflictError
from eni.runtime.client.interfaces import Client
from eni.runtime.clock import REAL_CLOCK, Clock
from eni.runtime.meta import Obj, ObjectKey, ResourceKind

R = TypeVar("R")

DEFAULT_STEPS = 5
DEFAULT_DELAY = 0.01

_NEVER = threading.Event()


def retry_on_conflict(
    fn: Callable[[], R], *, steps: int = DEFAULT_STEPS, delay: float = DEFAULT_DELAY, clock: Clock = REAL_CLOCK
) -> R:
    """Call ``fn`` until it does not raise ConflictError, at most ``steps`` times; re-raise the last conflict."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    for attempt in range(steps):
        try:
            return fn()
        except ConflictError:
            if attempt == steps - 1:
                raise
            clock.wait(_NEVER, delay * (1.0 + 0.1 * random.random()))
    raise AssertionError("unreachable")


def mutate_with_retry(
    client: Client,
    kind: ResourceKind,
    key: ObjectKey,
    mutate: Callable[[Obj], None],
    *,
    status: bool = False,
    steps: int = DEFAULT_STEPS,
    clock: Clock = REAL_CLOCK,
) -> Obj:
    """Get the object, apply ``mutate`` to a private deep copy, and write it back (``update_status`` when
    ``status``), retrying on conflicts. When ``mutate`` changes nothing, nothing is written and the live object is
    returned. NotFoundError and every other error propagate."""

    def attempt() -> Obj:
        live = client.get(kind, key)
        desired = copy.deepcopy(live)
        mutate(desired)
        if desired == live:
            return live
        return client.update_status(kind, desired) if status else client.update(kind, desired)

    return retry_on_conflict(attempt, steps=steps, clock=clock)
