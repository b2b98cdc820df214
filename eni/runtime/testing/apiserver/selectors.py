"""Label and field selectors, parsed from their query-string form and matched against objects.

Label selectors support every operator kube-apiserver accepts (``=``, ``==``, ``!=``, ``in``,
``notin``, existence and ``!`` non-existence); field selectors support ``=``, ``==`` and ``!=``
over the field paths each resource declares selectable. Parsing errors raise ``ValueError`` with
the message the server returns as a 400; matching never raises and never mutates the object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause of a label selector."""

    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" also match objects that lack the label
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.requirements:
            return True
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise ValueError(f"unable to parse requirement: unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


def _check_key(key: str) -> str:
    if not key or len(key) > 316 or not _KEY.match(key):
        raise ValueError(f"unable to parse requirement: invalid label key {key!r}")
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _VALUE.match(value):
        raise ValueError(f"unable to parse requirement: invalid label value {value!r}")
    return value


_SET_CLAUSE = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")


def _parse_requirement(clause: str) -> Requirement:
    text = clause.strip()
    if not text:
        raise ValueError("unable to parse requirement: found '', expected: identifier")
    set_match = _SET_CLAUSE.match(text)
    if set_match:
        values = frozenset(_check_value(v.strip()) for v in set_match["values"].split(",") if v.strip())
        return Requirement(_check_key(set_match["key"]), set_match["op"], values)
    for op, canonical in (("!=", "!="), ("==", "="), ("=", "=")):
        if op in text:
            key, _, value = text.partition(op)
            return Requirement(_check_key(key.strip()), canonical, frozenset({_check_value(value.strip())}))
    if text.startswith("!"):
        return Requirement(_check_key(text[1:].strip()), "!")
    return Requirement(_check_key(text), "exists")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``labelSelector``; raise ValueError on garbage.

    >>> selector = parse_label_selector("app=web,tier in (a, b),!legacy")
    >>> selector.matches({"metadata": {"labels": {"app": "web", "tier": "a"}}})
    True
    """
    if not text or not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_parse_requirement(c) for c in _split_top_level(text)))


def selector_from_label_selector_object(selector: Mapping[str, Any]) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels + matchExpressions) as a LabelSelector."""
    reqs = [Requirement(k, "=", frozenset({str(v)})) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(str(expr.get("operator")))
        if op is None:
            raise ValueError(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(str(expr.get("key")), op, frozenset(str(v) for v in expr.get("values") or [])))
    return LabelSelector(tuple(reqs))


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of a dotted field path, "" when absent (as the server's field sets do)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
        if current is None:
            return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: str
    equal: bool
    value: str


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A conjunction of field equalities/inequalities."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, r.path) == r.value) == r.equal for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def exact_value(self, path: str) -> str | None:
        """The value this selector pins ``path`` to, if any (lets lists skip whole namespaces)."""
        for r in self.requirements:
            if r.path == path and r.equal:
                return r.value
        return None


def parse_field_selector(text: str | None, *, supported: Callable[[str], bool]) -> FieldSelector:
    """Parse ``fieldSelector``; unknown field paths raise ValueError like the server's 400."""
    if not text or not text.strip():
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for clause in text.split(","):
        clause = clause.strip()
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            if op in clause:
                path, _, value = clause.partition(op)
                path = path.strip()
                if not supported(path):
                    raise ValueError(f"field label not supported: {path}")
                reqs.append(FieldRequirement(path, equal, value.strip()))
                break
        else:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{clause}'")
    return FieldSelector(tuple(reqs))
