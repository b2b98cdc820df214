"""The manager's HTTP endpoints: ``/healthz`` and ``/readyz`` with named checkers, and ``/metrics``.

A checker is a function that raises when unhealthy. ``/healthz`` (liveness) and ``/readyz`` (readiness) answer
200 "ok" when every checker passes and 500 otherwise; ``?verbose`` lists each check as ``[+]name ok`` or
``[-]name failed: reason`` like the API server does, and ``/healthz/<name>`` runs one. ``/metrics`` serves the
manager's own CollectorRegistry. The server listens on loopback by default, never crashes on bad requests, and
bounds each check's time only by the checker itself, so checkers must be quick and non-blocking.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

Checker = Callable[[], None]
"""Raises when unhealthy; the exception's text is the reason shown."""


def ping() -> None:
    """A checker that always passes: the process serves HTTP."""


class HealthServer:
    """Serves health, readiness and metrics on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, registry: CollectorRegistry, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._checks: dict[str, dict[str, Checker]] = {"healthz": {"ping": ping}, "readyz": {"ping": ping}}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_healthz_check(self, name: str, checker: Checker) -> None:
        self._add("healthz", name, checker)

    def add_readyz_check(self, name: str, checker: Checker) -> None:
        self._add("readyz", name, checker)

    def _add(self, group: str, name: str, checker: Checker) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid check name {name!r}")
        with self._lock:
            if name in self._checks[group]:
                raise ValueError(f"{group} check {name!r} already exists")
            self._checks[group][name] = checker

    def run_checks(self, group: str, only: str | None = None) -> tuple[bool, str]:
        """Run a group's checkers; return (healthy, the verbose report). Unknown ``only`` → (False, reason)."""
        with self._lock:
            checks = dict(self._checks[group])
        if only is not None:
            if only not in checks:
                return False, f"no such check: {only}\n"
            checks = {only: checks[only]}
        lines, healthy = [], True
        for name, checker in sorted(checks.items()):
            try:
                checker()
                lines.append(f"[+]{name} ok")
            except Exception as e:  # a checker's failure is the answer, never a server error
                healthy = False
                lines.append(f"[-]{name} failed: {e or type(e).__name__}")
        lines.append(f"{group} check {'passed' if healthy else 'failed'}")
        return healthy, "\n".join(lines) + "\n"

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the health server is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="health-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._server = None


def _handler_for(health: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "eni-health"
        timeout = 10

        def do_GET(self) -> None:
            try:
                self._route()
            except Exception:
                log.exception("Health endpoint failed")
                self._reply(500, b"internal error\n", "text/plain")

        def _route(self) -> None:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            if url.path == "/metrics":
                self._reply(200, generate_latest(health.registry), CONTENT_TYPE_LATEST)
                return
            if not parts or parts[0] not in ("healthz", "readyz", "livez") or len(parts) > 2:
                self._reply(404, b"not found\n", "text/plain")
                return
            group = "healthz" if parts[0] == "livez" else parts[0]
            healthy, report = health.run_checks(group, parts[1] if len(parts) == 2 else None)
            verbose = "verbose" in parse_qs(url.query, keep_blank_values=True)
            body = report if verbose or not healthy else "ok"
            self._reply(200 if healthy else 500, body.encode(), "text/plain; charset=utf-8")

        def _reply(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("Health request " + format, *args)

    return Handler
