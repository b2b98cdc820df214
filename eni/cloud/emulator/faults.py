"""Injected faults: throttling (by probability or above a QPS), InternalError, latency, dropped
connections and failing asynchronous tasks — set in code or through ``/_admin/faults``.

Rules are per action name, ``"*"`` applying to every action; a specific rule and the ``"*"`` rule are
both evaluated. Decisions use a seedable RNG so tests are reproducible. Thread-safe; never sleeps
itself (the server applies the latency it is told).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALL = "*"
THROTTLE_CODES = ("RequestLimitExceeded", "LimitExceeded.ActionLimited")
DOCUMENTED_QPS_100 = (
    "CreateNetworkInterface", "AttachNetworkInterface", "DetachNetworkInterface", "DeleteNetworkInterface",
    "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses", "MigratePrivateIpAddress",
    "DescribeNetworkInterfaces", "ModifyNetworkInterfaceAttribute",
)


@dataclass(frozen=True, slots=True)
class ActionFaults:
    """Faults for one action (or ``*``). Probabilities are 0..1; ``throttle_qps`` 0 means no QPS limit."""

    throttle_probability: float = 0.0
    throttle_qps: float = 0.0
    throttle_code: str = "RequestLimitExceeded"
    internal_error_probability: float = 0.0
    latency: float = 0.0
    drop_probability: float = 0.0

    def __post_init__(self) -> None:
        for name in ("throttle_probability", "internal_error_probability", "drop_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.throttle_qps < 0 or self.latency < 0 or self.latency > 60:
            raise ValueError("throttle_qps must be >= 0 and latency between 0 and 60 s")
        if self.throttle_code not in THROTTLE_CODES:
            raise ValueError(f"throttle_code must be one of {THROTTLE_CODES}")


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one call before it reaches its action."""

    latency: float = 0.0
    drop: bool = False
    error_code: str = ""


_FIELDS = {f.name for f in dataclasses.fields(ActionFaults)}
_PLAN_KEYS = {"actions", "taskFailureProbability", "failNextTasks"}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_rule_fields(name: object, fields: object) -> dict[str, Any]:
    """The fields of one action's rule from JSON, type-checked (ValueError on anything else)."""
    if not isinstance(fields, dict) or not set(fields) <= _FIELDS:
        raise ValueError(f"faults of {name!r} must be an object with keys from {sorted(_FIELDS)}")
    for key, value in fields.items():
        if not (isinstance(value, str) if key == "throttle_code" else _is_number(value)):
            raise ValueError(f"faults of {name!r}: {key} must be a {'string' if key == 'throttle_code' else 'number'}")
    return fields


class Faults:
    """The fault plan of one emulator."""

    def __init__(self, *, seed: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._clock = clock
        self._rules: dict[str, ActionFaults] = {}
        self._windows: dict[str, deque[float]] = {}
        self._task_failure_probability = 0.0
        self._fail_next_tasks = 0

    # ---- setting ---------------------------------------------------------------------------------

    def _change(self, action: str, **changes: Any) -> None:
        with self._lock:
            self._rules[action] = dataclasses.replace(self._rules.get(action, ActionFaults()), **changes)

    def throttle(self, action: str = ALL, *, probability: float = 0.0, qps: float = 0.0,
                 code: str = "RequestLimitExceeded") -> None:
        """Answer ``code`` with ``probability``, and to every call above ``qps`` calls per second."""
        self._change(action, throttle_probability=probability, throttle_qps=qps, throttle_code=code)

    def internal_error(self, action: str = ALL, *, probability: float) -> None:
        self._change(action, internal_error_probability=probability)

    def latency(self, action: str = ALL, *, seconds: float) -> None:
        self._change(action, latency=seconds)

    def drop_connections(self, action: str = ALL, *, probability: float) -> None:
        """Close the connection without any reply (the client sees a reset or an empty response)."""
        self._change(action, drop_probability=probability)

    def fail_tasks(self, *, probability: float | None = None, next_n: int | None = None) -> None:
        """Make asynchronous tasks end FAILED (and roll back): at random and/or the next ``next_n``."""
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if next_n is not None and next_n < 0:
            raise ValueError("next_n must be >= 0")
        with self._lock:
            if probability is not None:
                self._task_failure_probability = probability
            if next_n is not None:
                self._fail_next_tasks = next_n

    def apply_documented_limits(self) -> None:
        """Throttle above the rates Tencent documents: 100/s per ENI/IP action, 10/s for ReleaseAddresses."""
        for action in DOCUMENTED_QPS_100:
            self._change(action, throttle_qps=100.0)
        self._change("ReleaseAddresses", throttle_qps=10.0)

    def clear(self, action: str | None = None) -> None:
        """Forget the rules of ``action``, or every fault when ``action`` is None."""
        with self._lock:
            if action is None:
                self._rules.clear()
                self._windows.clear()
                self._task_failure_probability, self._fail_next_tasks = 0.0, 0
            else:
                self._rules.pop(action, None)

    # ---- JSON (admin API) --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "actions": {name: dataclasses.asdict(rule) for name, rule in self._rules.items()},
                "taskFailureProbability": self._task_failure_probability,
                "failNextTasks": self._fail_next_tasks,
            }

    def update(self, body: object) -> None:
        """Apply ``{"actions": {name: {field: value}}, "taskFailureProbability", "failNextTasks"}``.

        Validates everything first (ValueError), then applies: bad input changes nothing.
        """
        if not isinstance(body, dict):
            raise ValueError("faults must be a JSON object")
        if not set(body) <= _PLAN_KEYS:
            raise ValueError(f"unknown fault plan keys {sorted(set(body) - _PLAN_KEYS)}; known: {sorted(_PLAN_KEYS)}")
        actions = body.get("actions") or {}
        if not isinstance(actions, dict):
            raise ValueError("actions must be an object")
        rules: dict[str, ActionFaults] = {}
        with self._lock:
            current = dict(self._rules)
        for name, fields in actions.items():
            checked = _check_rule_fields(name, fields)
            try:
                rules[str(name)] = dataclasses.replace(current.get(str(name), ActionFaults()), **checked)
            except TypeError as e:
                raise ValueError(str(e)) from e
        probability, next_n = body.get("taskFailureProbability"), body.get("failNextTasks")
        if probability is not None and not _is_number(probability):
            raise ValueError("taskFailureProbability must be a number")
        if next_n is not None and (not isinstance(next_n, int) or isinstance(next_n, bool)):
            raise ValueError("failNextTasks must be an integer")
        self.fail_tasks(probability=None if probability is None else float(probability), next_n=next_n)
        with self._lock:
            self._rules.update(rules)

    # ---- deciding ----------------------------------------------------------------------------------

    def decide(self, action: str) -> Decision:
        """Roll the dice for one call of ``action``."""
        with self._lock:
            rules = [r for r in (self._rules.get(ALL), self._rules.get(action)) if r is not None]
            if not rules:
                return Decision()
            latency = max(r.latency for r in rules)
            if any(self._rng.random() < r.drop_probability for r in rules):
                return Decision(latency=latency, drop=True)
            for key, rule in zip((ALL, action), rules, strict=False):
                if self._rng.random() < rule.throttle_probability or self._over_qps(key, rule):
                    return Decision(latency=latency, error_code=rule.throttle_code)
            if any(self._rng.random() < r.internal_error_probability for r in rules):
                return Decision(latency=latency, error_code="InternalError")
            return Decision(latency=latency)

    def _over_qps(self, key: str, rule: ActionFaults) -> bool:
        if rule.throttle_qps <= 0:
            return False
        now = self._clock()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= rule.throttle_qps:
            return True
        window.append(now)
        return False

    def decide_task_failure(self) -> bool:
        with self._lock:
            if self._fail_next_tasks > 0:
                self._fail_next_tasks -= 1
                return True
            return self._rng.random() < self._task_failure_probability
