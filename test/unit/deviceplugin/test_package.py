"""Exported names and the doctests of the small pure helpers."""

import doctest
import importlib

import pytest

import eni.agent.deviceplugin
import eni.sim.kubelet


@pytest.mark.parametrize("package", [eni.agent.deviceplugin, eni.sim.kubelet])
def test_exported_members(package):
    public = {name for name in vars(package) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(package, name)).__name__ == "module"}

    assert set(package.__all__) == public - modules
    assert all(hasattr(package, name) for name in package.__all__)


@pytest.mark.parametrize("module", ["protocol", "resource", "devices"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"eni.agent.deviceplugin.{module}"))

    assert result.attempted > 0
    assert result.failed == 0
