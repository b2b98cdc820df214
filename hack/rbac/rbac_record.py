"""Records the API calls that reach the fake API server, as the (apiGroup, resource, verb) RBAC checks.

What: ``RequestLog`` listens to the request lines the fake API server logs (``eni.runtime.testing.apiserver``
logs each one at debug level, like an access log) while a program runs against it, and ``api_call`` turns
``GET /apis/g/v/namespaces/ns/things?watch=true`` into ``ApiCall("g", "things", "watch")``.

Why: a recorded run is the ground truth for the paths it exercises; the manifests tests require every
recorded call to be found by ``rbac_scan`` and granted by the program's roles.

Must never: change what the server does, or keep its handler installed after ``stop``.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from rbac_scan import ApiCall

SERVER_LOGGER = "eni.runtime.testing.apiserver.handler"
WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
# Discovery and OpenAPI documents are readable by every authenticated user (system:discovery).
DISCOVERY_PREFIXES = ("/openapi", "/version", "/healthz", "/readyz", "/livez")


def api_call(method: str, target: str) -> ApiCall | None:
    """The RBAC triple of one request, or None for discovery (not subject to the program's roles)."""
    url = urlsplit(target)
    parts = [p for p in url.path.split("/") if p]
    if url.path.startswith(DISCOVERY_PREFIXES) or not parts:
        return None
    if parts[0] == "api" and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None  # the group/version discovery document
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
    query = parse_qs(url.query)
    watching = query.get("watch", [""])[0].lower() in ("true", "1")
    if method == "GET":
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    elif method in WRITE_VERBS:
        verb = WRITE_VERBS[method]
    else:
        return None
    return ApiCall(group, f"{resource}/{sub}" if sub else resource, verb)


class RequestLog(logging.Handler):
    """Collects the calls of every request the fake API server answers while installed (thread-safe)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._guard = threading.Lock()
        self._calls: dict[ApiCall, int] = {}
        self._logger = logging.getLogger(SERVER_LOGGER)
        self._previous_level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if not (record.msg.startswith("Request ") and args and isinstance(args[0], str) and " HTTP/" in args[0]):
            return
        method, _, rest = args[0].partition(" ")
        target = rest.rpartition(" ")[0]
        call = api_call(method, target)
        if call is not None:
            with self._guard:
                self._calls[call] = self._calls.get(call, 0) + 1

    def calls(self) -> dict[ApiCall, int]:
        with self._guard:
            return dict(self._calls)

    def start(self) -> RequestLog:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def stop(self) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._previous_level)

    def __enter__(self) -> RequestLog:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
