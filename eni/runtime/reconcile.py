"""The reconciler contract: level-based, keyed by name, never by event.

If ``reconcile`` raises, the Result is irrelevant and the request is requeued with the controller's rate
limiter (exponential backoff); the only exception is ``TerminalError``, which is logged and counted but never
retried. If it returns ``Result(requeue_after=s)`` with ``s > 0``, the request comes back after ``s`` seconds;
``Result()`` means done until the next event. A reconciler must be idempotent: it may be called again for the
same object at any time, and never concurrently for the same Request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from eni.runtime.meta import ObjectKey


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The object to reconcile. No event payload: reconciliation is level-based."""

    namespace: str
    """"" for cluster-scoped kinds."""
    name: str

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(namespace=self.namespace, name=self.name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What to do after a successful reconcile. There is no ``requeue: bool``: errors back off, polls set a delay."""

    requeue_after: float = 0.0
    """Seconds until the request is reconciled again; 0 means only on the next event."""


class Reconciler(Protocol):
    """Drives the world toward the desired state of one object. Called from several worker threads, never
    concurrently for the same Request; see the module docstring for the retry contract."""

    def reconcile(self, request: Request) -> Result: ...


class TerminalError(Exception):
    """An error retrying cannot fix (invalid spec, quota): logged and counted, never requeued."""

    def __init__(self, cause: BaseException | str) -> None:
        super().__init__(str(cause))
        self.cause = cause
        if isinstance(cause, BaseException):
            self.__cause__ = cause


class ReconcilerFunc:
    """Adapts a plain function to the Reconciler protocol."""

    def __init__(self, fn: Callable[[Request], Result]) -> None:
        self._fn = fn

    def reconcile(self, request: Request) -> Result:
        return self._fn(request)
