"""Compares what each program's RBAC grants with what its code calls.

What: ``granted(rules)`` expands RBAC rules into (apiGroup, resource, verb) triples; ``compare`` puts them
next to the calls ``rbac_scan`` found and returns what is missing (the code would get 403) and what is
unused (more privilege than the code needs). ``AHEAD_OF_CODE`` lists grants made on purpose for a program
whose API loops are not wired yet, each with its reason; once the code makes such a call the entry is
reported as stale (harmless: the grant is then derived from the code) so that it can be removed.

Must never: accept a wildcard (``*``) verb, resource or group: least privilege is spelled out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rbac_scan import ApiCall

Rule = Mapping[str, Any]


class WildcardError(ValueError):
    """A rule grants ``*``."""


def granted(rules: Iterable[Rule]) -> set[ApiCall]:
    """Every (group, resource, verb) the rules grant; resourceNames narrow a rule but still grant the verb."""
    triples: set[ApiCall] = set()
    for rule in rules:
        groups, resources, verbs = rule.get("apiGroups") or [], rule.get("resources") or [], rule.get("verbs") or []
        if "*" in groups or "*" in resources or "*" in verbs or rule.get("nonResourceURLs"):
            raise WildcardError(f"rule {dict(rule)} grants a wildcard or non-resource URLs")
        triples.update(ApiCall(g, r, v) for g in groups for r in resources for v in verbs)
    return triples


@dataclass(frozen=True, slots=True)
class AheadOfCode:
    """A grant a program needs once its daemon is wired, made before its code makes the call."""

    call: ApiCall
    reason: str


# program -> grants made before its code makes the calls (each with why); the place to grant calls a program
# is about to make. Empty while every grant is derived from the code; check.py reports entries the code has
# caught up with, so that they can go.
AHEAD_OF_CODE: dict[str, tuple[AheadOfCode, ...]] = {}


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome for one program."""

    program: str
    missing: tuple[ApiCall, ...]
    """Called by the code, not granted: the program would be denied."""
    unused: tuple[ApiCall, ...]
    """Granted, never called and not listed in AHEAD_OF_CODE: more privilege than needed."""
    stale_ahead: tuple[ApiCall, ...]
    """Listed in AHEAD_OF_CODE but already called by the code: the entry can go."""
    ungranted_ahead: tuple[ApiCall, ...]
    """Listed in AHEAD_OF_CODE but not granted: the list and the manifests disagree."""

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unused or self.ungranted_ahead)


def compare(program: str, *, used: Iterable[ApiCall], rules: Iterable[Rule]) -> Comparison:
    used_set, granted_set = set(used), granted(rules)
    ahead = {entry.call for entry in AHEAD_OF_CODE.get(program, ())}
    return Comparison(
        program=program,
        missing=tuple(sorted(used_set - granted_set)),
        unused=tuple(sorted(granted_set - used_set - ahead)),
        stale_ahead=tuple(sorted(ahead & used_set)),
        ungranted_ahead=tuple(sorted(ahead - granted_set)),
    )
