"""Errors raised while reading the project's API objects, annotations and labels.

Everything here is a ``ValueError``: the input was wrong, nothing was changed, and retrying the
same input cannot help. Callers turn these into a Warning Event, a condition, or a refused CLI
flag; they never retry them.

    ValueError
     └── ApiValueError                  any bad value met by eni.api
          ├── DecodeError(kind, path)   an object's JSON does not fit its typed definition
          └── AnnotationError(key)      an annotation or label value cannot be used

This module must never import anything outside the standard library.
"""

from __future__ import annotations


class ApiValueError(ValueError):
    """A value read from the API (or a flag parsed with the API's helpers) is unusable."""


class DecodeError(ApiValueError):
    """An object's wire form does not match its typed definition.

    ``path`` is a dotted JSON path such as ``status.enis[2].ips[0].state`` so that the message
    points at the exact offending field.
    """

    def __init__(self, *, kind: str, path: str, problem: str) -> None:
        self.kind = kind
        self.path = path
        self.problem = problem
        where = f" {path}" if path else ""
        super().__init__(f"{kind}{where}: {problem}")


class AnnotationError(ApiValueError):
    """An annotation or label value is malformed or out of range; ``key`` names it."""

    def __init__(self, *, key: str, value: str, problem: str) -> None:
        self.key = key
        self.value = value
        self.problem = problem
        super().__init__(f"{key}={value!r}: {problem}")
