"""The examples in the node pool modules' docstrings run and hold."""

from __future__ import annotations

import doctest

import pytest

from eni.controllers.nodepool import desired, nodefacts, sizing


@pytest.mark.parametrize("module", [desired, nodefacts, sizing])
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
