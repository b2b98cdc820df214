"""Typed cloud errors: what went wrong, in terms a controller can act on.

Every error carries the cloud's ``code`` (e.g. ``LimitExceeded.EniPrivateIpLimit``), its ``message``
and the ``request_id`` of the failed call, so an operator can quote it to the provider. Adapters
translate vendor exceptions into this tree with ``raise ... from e``; no vendor type ever leaks
above ``eni.cloud``.

    CloudError(code, message, request_id)       anything else the cloud refused; never retried
    ├── Throttled          [retryable]          server or client-side rate limit
    ├── Busy               [retryable]          another task is running on the resource (mutex)
    ├── CloudUnavailable   [retryable]          5xx, InternalError, connection failure, timeout
    │   └── TaskTimeout    [retryable]          an asynchronous task did not finish in time
    ├── QuotaExceeded                           ENI/IP/EIP quota of an instance, VPC or account
    ├── SubnetExhausted                         the subnet has no free address
    ├── NotFound                                an id that does not exist (any more)
    ├── InvalidRequest                          malformed or impossible request
    │   └── Conflict                            the resource's current state forbids it
    │                                           (already attached, in use, zone mismatch, ...)
    ├── AuthFailed                              credentials, signature or permission
    ├── TaskFailed                              an asynchronous task ended FAILED (``output``)
    └── PartialOutcome                          a split request failed after some batches
                                                succeeded (``done`` lists what took effect)

``retryable`` is a class attribute: retrying the same call later may succeed. What a reconciler
does with the others: quota, subnet-exhausted, invalid and conflict errors are terminal for the
request as made; ``NotFound`` usually means the world changed and the caller should re-read it.

This module must never import a vendor SDK.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthFailed",
    "Busy",
    "CloudError",
    "CloudUnavailable",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PartialOutcome",
    "QuotaExceeded",
    "SubnetExhausted",
    "TaskFailed",
    "TaskTimeout",
    "Throttled",
]


class CloudError(Exception):
    """A cloud API call failed; ``code`` is the provider's error code."""

    retryable: ClassVar[bool] = False

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(code, message, request_id)
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        suffix = f" (RequestId {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{suffix}"


class Throttled(CloudError):
    """The call was rate limited, by the cloud or by the client-side token bucket."""

    retryable = True


class Busy(CloudError):
    """Another operation is in progress on the same resource; try again shortly."""

    retryable = True


class CloudUnavailable(CloudError):
    """The cloud could not be reached or failed internally (5xx, timeouts, garbage replies)."""

    retryable = True


class TaskTimeout(CloudUnavailable):
    """An asynchronous task was still running at the deadline; its outcome is unknown."""


class QuotaExceeded(CloudError):
    """A quota would be exceeded: ENIs or IPs per instance, ENIs per VPC, EIPs per account."""


class SubnetExhausted(CloudError):
    """The subnet has no free address left."""


class NotFound(CloudError):
    """The referenced resource does not exist."""


class InvalidRequest(CloudError):
    """The request is malformed or can never succeed as made."""


class Conflict(InvalidRequest):
    """The resource's current state forbids the request (attached, in use, wrong zone or state)."""


class AuthFailed(CloudError):
    """Credentials, signature or permissions were rejected."""


class TaskFailed(CloudError):
    """An asynchronous task ended in FAILED; ``output`` is the task's own explanation."""

    def __init__(self, code: str, message: str, request_id: str | None = None, *, output: str = "") -> None:
        super().__init__(code, message, request_id)
        self.output = output


class PartialOutcome(CloudError):
    """A request split into batches failed part way: ``done`` took effect, ``cause`` stopped the rest.

    ``code``, ``message`` and ``request_id`` are those of ``cause``, and ``retryable`` follows it,
    so a caller that ignores the partial outcome still sees the real reason.
    """

    def __init__(self, *, done: tuple[str, ...], not_done: tuple[str, ...] | int, cause: CloudError) -> None:
        super().__init__(cause.code, cause.message, cause.request_id)
        self.done = done
        """The addresses the cloud assigned (or unassigned) before the failure, in order."""
        self.not_done = not_done
        """The addresses not processed, or for a by-count request how many were not assigned."""
        self.cause = cause

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.cause.retryable

    def __str__(self) -> str:
        return f"{len(self.done)} done before failure: {self.cause}"
