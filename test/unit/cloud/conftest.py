"""Fixtures for the cloud unit tests: a fake clock and the real SDK stubbed at the HTTP boundary.

``StubHttp`` is a ``requests`` transport adapter mounted on the SDK clients' sessions: the SDK builds,
signs and sends real requests, and a handler written in the test answers them by action.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry

from eni.cloud.tencent import Credentials, TencentSettings, TencentVpc
from eni.cloud.tencent.sdk import sdk_client_factory

Handler = Callable[[str, dict[str, Any]], Any]


class FakeClock:
    """Monotonic time that only moves when slept on or stepped."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)

    def step(self, seconds: float) -> None:
        self.now += seconds


def error(code: str, message: str = "refused") -> dict[str, Any]:
    """A handler result that makes the stub answer with Tencent's error envelope."""
    return {"Error": {"Code": code, "Message": message}}


class RawReply:
    """A handler result sent as is (status, content type, body bytes)."""

    def __init__(self, body: bytes, *, status: int = 200, content_type: str = "application/json") -> None:
        self.body, self.status, self.content_type = body, status, content_type


class StubHttp(requests.adapters.BaseAdapter):
    """Answers SDK requests with ``handler(action, params)``; records every call."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' adapter signature
        action = request.headers["X-TC-Action"]
        params = json.loads(request.body)
        self.calls.append((action, params))
        self.headers.append(dict(request.headers))
        result = self.handler(action, params)
        if isinstance(result, BaseException):
            raise result
        if isinstance(result, RawReply):
            body, status, content_type = result.body, result.status, result.content_type
        else:
            payload = dict(result)
            payload.setdefault("RequestId", f"req-{next(self._ids)}")
            body, status, content_type = json.dumps({"Response": payload}).encode(), 200, "application/json"
        response = requests.Response()
        response.status_code = status
        response.headers["Content-Type"] = content_type
        response._content = body
        response._content_consumed = True
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]


def tasks_succeed(action: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Default answer to task polls: done."""
    if action == "DescribeVpcTaskResult":
        return {"Status": "SUCCESS", "Output": ""}
    if action == "DescribeTaskResult":
        return {"TaskId": params["TaskId"], "Result": "SUCCESS"}
    return None


def make_settings(**overrides: Any) -> TencentSettings:
    values: dict[str, Any] = {
        "region": "ap-guangzhou",
        "cluster_id": "cls-unit",
        "vpc_id": "vpc-unit0001",
        "endpoint": "cloud.stub.invalid:80",
        "retry_initial_backoff": 0.1,
        "retry_max_backoff": 1.0,
        "task_poll_interval": 0.5,
        "task_timeout": 5.0,
    }
    values.update(overrides)
    return TencentSettings(**values)


CREDENTIALS = Credentials("AKIDunit", "unit-secret-key")


def build_vpc(handler: Handler, clock: FakeClock, **overrides: Any) -> tuple[TencentVpc, StubHttp]:
    """A ``TencentVpc`` over real SDK clients whose HTTP goes to ``handler``."""
    settings = make_settings(**overrides)
    stub = StubHttp(handler)
    real_factory = sdk_client_factory(settings, CREDENTIALS)

    def factory(service: str):  # noqa: ANN202
        client = real_factory(service)
        client.request.conn._session.mount("http://", stub)
        return client

    vpc = TencentVpc(settings, client_factory=factory, registry=CollectorRegistry(), clock=clock)
    return vpc, stub


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_vpc(clock: FakeClock) -> Callable[..., tuple[TencentVpc, StubHttp]]:
    """``make_vpc(handler, **settings_overrides)`` -> (TencentVpc on the fake clock, its StubHttp)."""
    return lambda handler, **overrides: build_vpc(handler, clock, **overrides)


@pytest.fixture
def replies() -> SimpleNamespace:
    """Reply builders for handlers: ``error(code)``, ``RawReply(...)``, ``tasks_succeed(action, params)``."""
    return SimpleNamespace(error=error, RawReply=RawReply, tasks_succeed=tasks_succeed)
