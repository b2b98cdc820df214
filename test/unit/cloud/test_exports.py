"""Public names: every ``__all__`` entry exists, and the docstring examples hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "eni.cloud.types", "eni.cloud.errors", "eni.cloud.interfaces", "eni.cloud.fake",
    "eni.cloud.tencent", "eni.cloud.tencent.settings", "eni.cloud.tencent.errormap", "eni.cloud.tencent.ratelimit",
    "eni.cloud.tencent.metrics", "eni.cloud.tencent.caller", "eni.cloud.tencent.tasks", "eni.cloud.tencent.cache",
    "eni.cloud.tencent.idempotency", "eni.cloud.tencent.convert", "eni.cloud.tencent.core",
    "eni.cloud.tencent.enis", "eni.cloud.tencent.ips", "eni.cloud.tencent.eips", "eni.cloud.tencent.sdk",
    "eni.cloud.tencent.vpc",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
