"""The examples in the api modules' docstrings are true."""

import doctest

import pytest

from eni.api.v1 import codec, constants


@pytest.mark.parametrize("module", [codec, constants], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
