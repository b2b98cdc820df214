"""One paced, measured, retried Tencent API call: the only place SDK calls are made.

``ApiCaller.call(service, action, params)`` takes rate-limit tokens, sends the request through an SDK
client of this thread, turns every failure into an ``eni.cloud.errors`` type (``raise ... from e``),
records metrics, and retries retryable errors with tenacity: exponential backoff with jitter, bounded
by attempts and by total time. The SDK's own retryer is never installed (3.1.195's keeps a stale error
after a successful retry).

SDK clients are built per thread by an injected factory, because the SDK keeps a ``requests.Session``
per client and sessions are not documented as thread-safe.

This module must never log parameters or replies at info level (they carry tokens and ids in bulk),
and never credentials at any level.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential_jitter
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from eni.cloud.errors import CloudError, CloudUnavailable, Throttled
from eni.cloud.tencent.errormap import to_cloud_error
from eni.cloud.tencent.metrics import CloudMetrics, outcome_label
from eni.cloud.tencent.ratelimit import Clock, RateLimiter
from eni.cloud.tencent.settings import TencentSettings

__all__ = ["ApiCaller", "BAD_REPLY_CODE", "Reply", "SdkClient", "SdkClientFactory"]

log = logging.getLogger(__name__)

BAD_REPLY_CODE = "ClientSideBadReply"
"""``CloudUnavailable.code`` for a reply the adapter could not parse."""


class SdkClient(Protocol):
    """The slice of ``tencentcloud.common.abstract_client.AbstractClient`` the adapter uses."""

    def call_json(self, action: str, params: dict[str, Any]) -> dict[str, Any]: ...


SdkClientFactory = Callable[[str], SdkClient]
"""Builds a fresh SDK client for a service name (``vpc`` or ``cvm``)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The ``Response`` object of a successful call, without the envelope."""

    body: Mapping[str, Any]
    request_id: str


class ApiCaller:
    """Sends Tencent API requests with pacing, error typing, metrics and retries; thread-safe."""

    def __init__(
        self,
        *,
        settings: TencentSettings,
        client_factory: SdkClientFactory,
        limiter: RateLimiter,
        metrics: CloudMetrics,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._factory = client_factory
        self._limiter = limiter
        self._metrics = metrics
        self._clock = clock
        self._local = threading.local()

    def call(
        self,
        service: str,
        action: str,
        params: Mapping[str, Any],
        *,
        already_done: Callable[[CloudError], bool] | None = None,
    ) -> Reply | None:
        """Call ``action`` until it succeeds, fails for good, or the retry budget is spent.

        ``already_done`` recognises errors that, on a *retried* attempt, mean the first attempt took
        effect before its reply was lost (e.g. ``NotFound`` when deleting); the call then returns
        ``None``. On the first attempt such errors are raised as usual.
        """
        attempts = 0

        def attempt() -> Reply | None:
            nonlocal attempts
            attempts += 1
            try:
                return self._call_once(service, action, params)
            except CloudError as e:
                if attempts > 1 and already_done is not None and already_done(e):
                    log.debug("Retried call had already taken effect", extra={"action": action, "code": e.code})
                    return None
                raise

        retrying = Retrying(
            stop=stop_after_attempt(self._settings.retry_attempts)
            | stop_after_delay(self._settings.retry_total_timeout),
            wait=wait_exponential_jitter(
                multiplier=self._settings.retry_initial_backoff,
                max=self._settings.retry_max_backoff,
                jitter=self._settings.retry_initial_backoff,
            ),
            retry=retry_if_exception(lambda e: isinstance(e, CloudError) and e.retryable),
            sleep=self._clock.sleep,
            before_sleep=lambda _state: self._metrics.retries.labels(action).inc(),
            reraise=True,
        )
        return retrying(attempt)

    def _client(self, service: str) -> SdkClient:
        clients: dict[str, SdkClient] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        client = clients.get(service)
        if client is None:
            client = clients[service] = self._factory(service)
        return client

    def _call_once(self, service: str, action: str, params: Mapping[str, Any]) -> Reply:
        try:
            waited = self._limiter.acquire(action, timeout=self._settings.rate_limit_wait)
        except Throttled:
            self._metrics.throttles.labels(action, "client").inc()
            raise
        if waited:
            self._metrics.rate_limit_wait.labels(action).inc(waited)
        started = time.monotonic()
        error: CloudError | None = None
        try:
            return self._send(service, action, params)
        except CloudError as e:
            error = e
            if isinstance(e, Throttled):
                self._metrics.throttles.labels(action, "server").inc()
            raise
        finally:
            self._metrics.latency.labels(action).observe(time.monotonic() - started)
            self._metrics.calls.labels(action, outcome_label(error)).inc()

    def _send(self, service: str, action: str, params: Mapping[str, Any]) -> Reply:
        log.debug("Calling cloud", extra={"action": action})
        try:
            raw = self._client(service).call_json(action, dict(params))
        except TencentCloudSDKException as e:
            code = e.get_code() or "ClientNetworkError"
            raise to_cloud_error(code, str(e.get_message() or ""), e.get_request_id()) from e
        except Exception as e:  # JSON, socket and requests errors surface raw from the SDK
            raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: {type(e).__name__}: {e}") from e
        return _unwrap(action, raw)


def _unwrap(action: str, raw: object) -> Reply:
    response = raw.get("Response") if isinstance(raw, dict) else None
    if not isinstance(response, dict):
        raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: reply has no Response object")
    request_id = str(response.get("RequestId") or "")
    error = response.get("Error")
    if error is not None:
        # The SDK only raises for error envelopes sent as application/json; catch the rest here.
        if not isinstance(error, dict):
            raise CloudUnavailable(BAD_REPLY_CODE, f"{action}: malformed Error object", request_id or None)
        raise to_cloud_error(str(error.get("Code", "")), str(error.get("Message", "")), request_id or None)
    return Reply(body=response, request_id=request_id)

