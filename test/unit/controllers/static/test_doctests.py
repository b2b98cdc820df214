"""The examples in the static-mode modules' docstrings run and hold."""

from __future__ import annotations

import doctest

import pytest

from eni.controllers.static import locate, podview


@pytest.mark.parametrize("module", [locate, podview])
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
