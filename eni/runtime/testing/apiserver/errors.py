"""API errors of the fake API server, rendered as Kubernetes ``Status`` bodies.

Every failure a handler can meet is raised as :class:`StatusError` and turned into the same
``Status`` object (kind, code, reason, message, details) that kube-apiserver sends, so clients map
it to their typed errors exactly as they would against a real cluster. Nothing here touches state.

    StatusError
      400 BadRequest    malformed JSON, unsupported selectors or patches
      404 NotFound      the object or the resource does not exist
      405 MethodNotAllowed
      409 AlreadyExists / Conflict
      410 Expired       a watch or continue token older than the kept history
      415 UnsupportedMediaType
      422 Invalid       an object that fails validation (with field causes)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cause:
    """One field-level reason an object is invalid."""

    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueForbidden...
    message: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class StatusError(Exception):
    """A failed API call; ``status()`` is the body the server sends."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    def body(self) -> bytes:
        return json.dumps(self.status()).encode()


@dataclass(frozen=True, slots=True)
class Subject:
    """What an error is about: the resource (plural, group), its Kind and the object's name."""

    resource: str
    group: str
    kind: str
    name: str = ""

    @property
    def qualified_resource(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def details(self, *, use_kind: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind if use_kind else self.resource}
        if self.name:
            out["name"] = self.name
        if self.group:
            out["group"] = self.group
        return out


def not_found(subject: Subject) -> StatusError:
    return StatusError(
        404, "NotFound", f'{subject.qualified_resource} "{subject.name}" not found', details=subject.details()
    )


def already_exists(subject: Subject) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{subject.qualified_resource} "{subject.name}" already exists',
        details=subject.details(),
    )


def conflict(subject: Subject, why: str) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {subject.qualified_resource} "{subject.name}": {why}',
        details=subject.details(),
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(subject: Subject, causes: list[Cause]) -> StatusError:
    kind_group = f"{subject.kind}.{subject.group}" if subject.group else subject.kind
    rendered = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    if len(causes) > 1:
        rendered = f"[{rendered}]"
    details = subject.details(use_kind=True)
    details["causes"] = [c.as_dict() for c in causes]
    return StatusError(422, "Invalid", f'{kind_group} "{subject.name}" is invalid: {rendered}', details=details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(subject: Subject, why: str) -> StatusError:
    return StatusError(
        403,
        "Forbidden",
        f'{subject.qualified_resource} "{subject.name}" is forbidden: {why}',
        details=subject.details(),
    )


def method_not_allowed(what: str) -> StatusError:
    return StatusError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource: {what}"
    )


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; "
        f'got "{content_type}"',
    )


def expired(requested: int, oldest: int) -> StatusError:
    return StatusError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def resource_not_served(path: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        "the server could not find the requested resource",
        details={"causes": [{"reason": "UnexpectedServerResponse", "message": f"404 page not found: {path}"}]},
    )


def success_status(code: int, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}
    if details is not None:
        body["details"] = details
    return body
