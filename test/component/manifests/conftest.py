"""Fixtures of the manifests tests: both overlays rendered once by the real kubectl, and the tools of hack/rbac.

``rendered`` maps an overlay name to its ``manifests.Rendered`` objects. hack/rbac is put on sys.path so
the tests use the same rendering and RBAC derivation as ``hack/rbac/check.py``.
"""

from __future__ import annotations

import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "hack" / "rbac"))

import manifests  # noqa: E402


@pytest.fixture(scope="session")
def rendered() -> dict[str, manifests.Rendered]:
    return {name: manifests.render(name) for name in manifests.OVERLAYS}


@pytest.fixture(scope="session")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def version(pyproject: dict) -> str:
    return str(pyproject["project"]["version"])


@pytest.fixture(autouse=True)
def keep_root_logging() -> Iterator[None]:
    """The programs' wiring configures the root logger; give the test runner its handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
