"""The API gateway: from one HTTP request to one Tencent Cloud reply, whatever the request holds.

POST JSON is what the SDK sends by default; GET with the SDK's flattened query is accepted too.
Order, like the real gateway: headers (action, version, region) → TC3 signature → action lookup for
the signed service → injected faults → body and parameter checks → the action, under the state lock
(after settling due tasks) with ClientToken replay → the ``{"Response": ...}`` envelope. Every
failure is an error envelope with the real code; an unexpected exception is logged and answered
``InternalError``. Nothing here blocks longer than the injected latency.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import actions_cvm, actions_eip, actions_eni, actions_ip
from .calllog import CallLog
from .errors import ApiError
from .faults import Faults
from .formparams import parse_query
from .hooks import HookDispatcher
from .params import ActionSpec, check_params, client_token
from .signing import SignedRequest, verify
from .state import CallContext, CloudState

log = logging.getLogger(__name__)

API_VERSION = "2017-03-12"
SERVICES = ("vpc", "cvm")
FAULT_MESSAGES = {"InternalError": "An internal error occurred."}
ACTIONS: dict[tuple[str, str], ActionSpec] = {
    (spec.service, spec.name): spec
    for spec in actions_eni.ACTIONS + actions_ip.ACTIONS + actions_eip.ACTIONS + actions_cvm.ACTIONS
}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the HTTP layer sends: a JSON body, or nothing at all (an injected dropped connection)."""

    body: bytes
    drop: bool = False


def envelope(request_id: str, payload: Mapping[str, Any]) -> bytes:
    return json.dumps({"Response": {**payload, "RequestId": request_id}}, separators=(",", ":")).encode()


def error_body(request_id: str, code: str, message: str) -> bytes:
    return envelope(request_id, {"Error": {"Code": code, "Message": message}})


class Gateway:
    """Turns requests into replies against one ``CloudState``. Thread-safe."""

    def __init__(
        self, *, state: CloudState, secrets: Mapping[str, str], faults: Faults, calls: CallLog,
        hooks: HookDispatcher, stop: threading.Event,
    ) -> None:
        self.state = state
        self.secrets = dict(secrets)
        self.faults = faults
        self.calls = calls
        self.hooks = hooks
        self.stop = stop

    def handle(self, req: SignedRequest) -> Reply:
        request_id = str(uuid.uuid4())
        action, service = req.headers.get("x-tc-action", ""), ""
        try:
            spec = self._authorize(req)
            action, service = spec.name, spec.service
            decision = self.faults.decide(spec.name)
            if decision.latency:
                self.stop.wait(decision.latency)
            if decision.drop:
                self.calls.add(action=action, service=service, outcome="dropped", request_id=request_id)
                return Reply(b"", drop=True)
            if decision.error_code:
                raise ApiError(decision.error_code, FAULT_MESSAGES.get(decision.error_code, "Too many requests."))
            params = parse_query(req.query, spec.params) if req.method == "GET" else _json_params(req)
            payload = self._run(spec, params, request_id)
        except ApiError as e:
            self.calls.add(action=action, service=service, outcome=e.code, request_id=request_id)
            return Reply(error_body(request_id, e.code, e.message))
        except Exception:
            log.exception("Emulator action failed", extra={"action": action, "request_id": request_id})
            self.calls.add(action=action, service=service, outcome="InternalError", request_id=request_id)
            return Reply(error_body(request_id, "InternalError", "An internal error occurred."))
        self.calls.add(action=action, service=service, outcome="ok", request_id=request_id)
        return Reply(envelope(request_id, payload))

    def _authorize(self, req: SignedRequest) -> ActionSpec:
        content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if (req.method, content_type) not in (("POST", "application/json"),
                                              ("GET", "application/x-www-form-urlencoded")):
            raise ApiError("UnsupportedProtocol", "Use POST application/json or GET with a form-encoded query.")
        action = req.headers.get("x-tc-action", "")
        if not action:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Action header.")
        version = req.headers.get("x-tc-version", "")
        if version != API_VERSION:
            raise ApiError("NoSuchVersion", f"The API version `{version}` does not exist.")
        region = req.headers.get("x-tc-region", "")
        if not region:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Region header.")
        if region != self.state.world.region:
            raise ApiError("UnsupportedRegion", f"The region `{region}` is not supported.")
        caller = verify(req, self.secrets, services=SERVICES)
        spec = ACTIONS.get((caller.service, action))
        if spec is None:
            raise ApiError("InvalidAction", f"The action `{action}` does not exist for {caller.service}.")
        return spec

    def _run(self, spec: ActionSpec, params: dict[str, Any], request_id: str) -> dict[str, Any]:
        check_params(params, spec.params, required=spec.required)
        token = client_token(params) if spec.idempotent else ""
        ctx = CallContext(request_id)
        with self.state.lock:
            self.hooks.submit(self.state.settle(self.state.clock()))
            if token:
                replayed = self.state.replay(spec.name, token, request_id)
                if replayed is not None:
                    return replayed
            payload = spec.handler(self.state, params, ctx)
            if token:
                task_id = str(payload.get("TaskId", "")) or (request_id if spec.vpc_task else "")
                self.state.remember(spec.name, token, payload, task_id)
        return payload


def _json_params(req: SignedRequest) -> dict[str, Any]:
    try:
        params = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ApiError("InvalidParameter", f"The request body is not valid JSON: {e}") from e
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return params
