"""Client-side label and field selector matching, for reads served from a cache or an in-memory fake.

Label selectors support every operator of the API (``=``, ``==``, ``!=``, ``in``, ``notin``, ``key``,
``!key``); field selectors support ``=``, ``==`` and ``!=`` on dotted paths (``spec.nodeName``). Malformed
selectors raise ValueError at parse time, never while matching. Matching never mutates the object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_SET_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_./-]*)\s*$")

Matcher = Callable[[Mapping[str, str]], bool]


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Matcher:
    eq = _EQ_TERM.match(term)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    st = _SET_TERM.match(term)
    if not st:
        raise ValueError(f"invalid label selector term {term!r}")
    negated, key, op, values = st.groups()
    if op is None:
        return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
    if negated:
        raise ValueError(f"invalid label selector term {term!r}")
    allowed = {v.strip() for v in values.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in allowed
    return lambda labels: labels.get(key) not in allowed


def label_matcher(selector: str) -> Matcher:
    """A predicate on a labels mapping.

    >>> label_matcher("app=web,tier in (a, b),!legacy")({"app": "web", "tier": "a"})
    True
    """
    matchers = [_label_term(t) for t in _split_terms(selector)]
    return lambda labels: all(m(labels) for m in matchers)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def field_matcher(selector: str) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate on a whole object.

    >>> field_matcher("spec.nodeName=node-1")({"spec": {"nodeName": "node-1"}})
    True
    """
    terms = []
    for term in _split_terms(selector):
        eq = _EQ_TERM.match(term)
        if not eq:
            raise ValueError(f"invalid field selector term {term!r}")
        terms.append(eq.groups())
    return lambda obj: all((field_value(obj, k) == v) == (op != "!=") for k, op, v in terms)
