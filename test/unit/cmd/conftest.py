"""Fixtures of the command-line tests: a clean ENI_* environment, the root logger as it was, and short temp dirs
for unix sockets."""

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ENI_*, NODE_NAME or cloud credentials leak in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("ENI_") or name in ("NODE_NAME", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def restored_root_logger():
    """The programs' ``main`` points the root logger at the sys.stderr of the moment, which pytest captures and
    closes after the test: a later test's thread that logs would then hit a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def short_dir():
    """A temp dir with a short path: unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="cli", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
