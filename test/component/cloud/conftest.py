"""Fixtures: a Tencent Cloud emulator on loopback and ``TencentVpc`` adapters (real SDK) pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from eni.cloud.emulator import Emulator, World
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc

SECRET_ID = "AKIDcomponentcloud01"
SECRET_KEY = "component-cloud-secret"
CLUSTER_ID = "cls-component"


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """``start_emulator(world=None, task_delay=0.02)``: a running emulator, stopped after the test."""
    started: list[Emulator] = []

    def start(*, world: World | None = None, task_delay: float = 0.02) -> Emulator:
        emu = Emulator(world=world or World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY,
                       task_delay=task_delay, seed=11)
        started.append(emu)
        emu.start(host="127.0.0.1", port=0)
        return emu

    try:
        yield start
    finally:
        for emu in started:
            emu.stop()


@pytest.fixture
def emulator(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator()


@pytest.fixture
def adapter_for() -> Callable[..., TencentVpc]:
    """``adapter_for(emu, **settings_overrides)``: a fresh adapter on ``emu``."""

    def make(emu: Emulator, *, secret_key: str = SECRET_KEY, **overrides: Any) -> TencentVpc:
        settings = settings_for(emu, **overrides)
        return TencentVpc.from_settings(settings, Credentials(SECRET_ID, secret_key), registry=CollectorRegistry())

    return make


def settings_for(emu: Emulator, **overrides: Any) -> TencentSettings:
    values: dict[str, Any] = {
        "region": emu.region,
        "cluster_id": CLUSTER_ID,
        "vpc_id": emu.world.vpc_id,
        "endpoint": emu.endpoint,
        "qps": 1000.0,
        "burst": 100,
        "default_action_qps": 1000.0,
        "task_poll_interval": 0.01,
        "task_timeout": 10.0,
        "retry_initial_backoff": 0.02,
        "retry_max_backoff": 0.2,
        "retry_attempts": 8,
        "describe_cache_ttl": 0.0,
        "request_timeout": 5.0,
    }
    values.update(overrides)
    return TencentSettings(**values)


@pytest.fixture
def make_adapter(emulator: Emulator, adapter_for: Callable[..., TencentVpc]) -> Callable[..., TencentVpc]:
    """``make_adapter(**settings_overrides)``: a fresh adapter (a fresh process, as far as state goes)."""
    return lambda **overrides: adapter_for(emulator, **overrides)


@pytest.fixture
def vpc(make_adapter: Callable[..., TencentVpc]) -> TencentVpc:
    return make_adapter()
