"""Typed errors of the Kubernetes client; the official client's exceptions never leak past this package.

    ApiError(status, reason, message)          any failed API call; ``reason`` is the Status reason
    ├── NotFoundError                          404
    ├── AlreadyExistsError                     409, reason AlreadyExists
    ├── ConflictError                          409 otherwise: a stale resourceVersion
    ├── GoneError                              410: the resourceVersion is too old; relist
    ├── InvalidError                           422: the object was rejected; retrying cannot help
    ├── TooManyRequestsError                   429: throttled; ``retry_after`` seconds when the server said
    └── TransportError                         status 0: no HTTP answer (refused, reset, timed out)

``error_from_status`` builds the right class from an HTTP code and a decoded ``Status`` body (also used for
watch ERROR events). The vendor exception, when any, is the ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """A failed API call, with the HTTP status and the ``Status`` object's reason and message."""

    def __init__(
        self, status: int, reason: str = "", message: str = "", *, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {reason}: {message}" if reason or message else str(status))
        self.status = status
        self.reason = reason
        self.message = message
        self.details: Mapping[str, Any] = details or {}


class NotFoundError(ApiError):
    """The object (or its namespace or kind) does not exist."""


class AlreadyExistsError(ApiError):
    """Create of an object whose name is taken."""


class ConflictError(ApiError):
    """Write with a stale resourceVersion (or a failed precondition): re-read and retry."""


class GoneError(ApiError):
    """The requested resourceVersion has been compacted away: relist."""


class InvalidError(ApiError):
    """The server rejected the object as invalid (422)."""


class TooManyRequestsError(ApiError):
    """The server (or a priority level) is throttling us."""

    def __init__(
        self,
        status: int,
        reason: str = "",
        message: str = "",
        *,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, reason, message, details=details)
        self.retry_after = retry_after


class TransportError(ApiError):
    """No HTTP answer: connection refused or reset, or a timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "Transport", message)


def error_from_status(
    status: int, body: Mapping[str, Any] | None, *, retry_after: float | None = None
) -> ApiError:
    """The typed error for an HTTP status and its decoded ``Status`` body (which may be missing or not a Status).

    >>> type(error_from_status(409, {"kind": "Status", "reason": "AlreadyExists", "message": "x exists"})).__name__
    'AlreadyExistsError'
    >>> type(error_from_status(409, None)).__name__
    'ConflictError'
    """
    body = body if isinstance(body, Mapping) else {}
    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, int) and raw_code > 0 else status
    reason = str(body.get("reason") or "")
    message = str(body.get("message") or "")
    details = body.get("details") if isinstance(body.get("details"), Mapping) else None
    if code == 404:
        return NotFoundError(code, reason or "NotFound", message, details=details)
    if code == 409:
        cls = AlreadyExistsError if reason == "AlreadyExists" else ConflictError
        return cls(code, reason or "Conflict", message, details=details)
    if code == 410:
        return GoneError(code, reason or "Expired", message, details=details)
    if code == 422:
        return InvalidError(code, reason or "Invalid", message, details=details)
    if code == 429:
        return TooManyRequestsError(
            code, reason or "TooManyRequests", message, details=details, retry_after=retry_after
        )
    return ApiError(code, reason, message, details=details)
