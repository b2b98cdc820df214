"""Set-up shared by the component tests and benchmarks that run ipamd's code in-process against the fake API
server and the cloud emulator: the CRDs installed and served, and a Tencent adapter tuned for a local emulator.

Why here: ``eni.sim`` sits on top of every layer, so it may build the real adapter (the controllers may not).
Must never: reach anything but the loopback servers it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from eni.api.v1 import ALL_KINDS, crdgen
from eni.api.v1.resource import CustomObject
from eni.cloud.emulator import Emulator
from eni.cloud.errors import CloudError
from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.runtime.client import KubeClient
from eni.runtime.client.errors import AlreadyExistsError, ApiError
from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION

__all__ = ["AfterCall", "LosingVpc", "emulator_adapter", "install_crds"]


def install_crds(client: KubeClient, kinds: Sequence[type[CustomObject]] = ALL_KINDS, *,
                 timeout: float = 10.0) -> None:
    """Creates the CRDs of ``kinds`` (those already there are kept) and waits until each kind is served."""
    for kind in kinds:
        try:
            client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(kind))
        except AlreadyExistsError:
            pass
    deadline = time.monotonic() + timeout
    for resource in (k.RESOURCE for k in kinds):
        while True:
            try:
                client.list(resource)
                break
            except ApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def emulator_adapter(emu: Emulator, *, cluster_id: str, secret_id: str, secret_key: str,
                     **overrides: Any) -> TencentVpc:
    """The real adapter (and SDK) pointed at ``emu``: no caching, fast polls and retries, a generous rate budget;
    ``overrides`` replace any ``TencentSettings`` field."""
    values: dict[str, Any] = {
        "region": emu.region, "cluster_id": cluster_id, "vpc_id": emu.world.vpc_id, "endpoint": emu.endpoint,
        "qps": 1000.0, "burst": 100, "default_action_qps": 1000.0, "task_poll_interval": 0.01, "task_timeout": 10.0,
        "retry_initial_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 3, "describe_cache_ttl": 0.0,
        "request_timeout": 5.0,
    }
    values.update(overrides)
    return TencentVpc.from_settings(TencentSettings(**values), Credentials(secret_id, secret_key),
                                    registry=CollectorRegistry())


class AfterCall:
    """Delegates to a real adapter; right after calls number ``first`` to ``first + times - 1`` (from 1) of
    ``method`` took effect, runs ``then`` before returning. ``then`` stands for what happens at the worst moment:
    another actor's step (another node's assign right after an unassign), or, by raising, a reply lost after the
    cloud acted or the process dying there."""

    def __init__(self, vpc: Any, method: str, then: Callable[[], None], *, first: int = 1, times: int = 1) -> None:
        self._vpc, self._method, self._then = vpc, method, then
        self._first, self._last = first, first + times - 1
        self.calls = 0
        """Calls of ``method`` so far."""
        self.ran = 0
        """How often ``then`` ran."""
        self.args: tuple[Any, ...] = ()
        """The arguments of the last call after which ``then`` ran."""

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._vpc, name)
        if name != self._method:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            self.calls += 1
            if self._first <= self.calls <= self._last:
                self.ran += 1
                self.args = args
                self._then()
            return result

        return call


class LosingVpc(AfterCall):
    """The first ``times`` calls of ``method`` act, then raise ``error``: what a reply lost after the cloud acted
    (throttled, timed out, a NotFound about the task) looks like to ipamd."""

    def __init__(self, vpc: Any, method: str, error: CloudError, times: int) -> None:
        super().__init__(vpc, method, self._lose, times=times)
        self._error = error

    @property
    def raised(self) -> int:
        return self.ran

    def _lose(self) -> None:
        raise self._error
