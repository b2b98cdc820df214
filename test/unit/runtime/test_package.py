"""Package hygiene: every name in __all__ exists and is documented; doctests in the modules pass."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import eni.runtime

PACKAGES = ["eni.runtime.cache", "eni.runtime.client", "eni.runtime.leaderelection", "eni.runtime.testing",
            "eni.runtime.workqueue"]
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(eni.runtime.__path__, "eni.runtime.")
    if ".testing.apiserver" not in info.name
)


@pytest.mark.parametrize("package", PACKAGES)
def test_exported_members_exist_and_are_public(package):
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        member = getattr(module, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert member.__doc__, f"{package}.{name} needs a docstring"


@pytest.mark.parametrize("name", MODULES)
def test_module_docstrings_and_doctests(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} needs a module docstring"
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
