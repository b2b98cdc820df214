"""``Emulator``: the in-process handle on a running Tencent Cloud emulator.

It owns the state, the fault plan, the call log, the HTTP server thread, the task finisher thread
(which commits tasks when they are due even if nobody polls) and the hook dispatcher thread. Tests
and the local cluster use it directly; ``tke-eni-sim cloud`` wraps it in a process.

    emu = Emulator(world=World.default(), secret_id="AKIDEMULATOR", secret_key="emulator-secret")
    emu.start(host="127.0.0.1", port=0)      # returns once serving
    ... HttpProfile(protocol="http", endpoint=emu.endpoint) ...
    emu.stop()

It never listens anywhere but the host it is given (loopback by default, refused otherwise).
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from . import views
from .actions_cvm import add_instance
from .calllog import CallLog
from .faults import Faults
from .gateway import Gateway
from .hooks import EmulatorHooks, HookDispatcher
from .server import AdminRoute, EmulatorHTTPServer
from .state import CloudState
from .world import World

MAX_FINISHER_WAIT = 1.0


class Emulator:
    """A loopback Tencent Cloud (VPC + CVM, API version 2017-03-12) for the real SDK."""

    def __init__(
        self,
        world: World | None = None,
        secret_id: str = "AKIDEMULATOR",
        secret_key: str = "emulator-secret",
        task_delay: float = 0.05,
        hooks: EmulatorHooks | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        if task_delay < 0:
            raise ValueError("task_delay must be >= 0")
        self.world = world or World.default()
        self.state = CloudState(self.world, task_delay=task_delay, seed=seed)
        self.faults = Faults(seed=seed)
        self.state.task_failure = self.faults.decide_task_failure
        self.calls = CallLog()
        self._hooks = HookDispatcher(hooks)
        self._stop = threading.Event()
        self._gateway = Gateway(state=self.state, secrets={secret_id: secret_key}, faults=self.faults,
                                calls=self.calls, hooks=self._hooks, stop=self._stop)
        self._server: EmulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def region(self) -> str:
        return self.world.region

    @property
    def endpoint(self) -> str:
        """``host:port`` for ``HttpProfile(protocol="http", endpoint=...)``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind, start serving and return. Only loopback addresses are accepted."""
        if self._server is not None:
            raise RuntimeError("the emulator is already started")
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator listens on loopback only, not {host}")
        self._stop.clear()
        self._server = EmulatorHTTPServer((host, port), gateway=self._gateway, admin=self._admin_routes())
        self._hooks.start()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="emulator-http", daemon=True),
            threading.Thread(target=self._finish_tasks, name="emulator-tasks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, finish the threads; idempotent."""
        self._stop.set()
        self.state.wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._hooks.stop(timeout)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- inspection and control ------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data (due tasks are settled first)."""
        with self.state.lock:
            self._hooks.submit(self.state.settle(self.state.clock()))
            return views.snapshot(self.state)

    def reset(self) -> None:
        """Back to the world: every ENI, IP, EIP, task and token forgotten; faults and calls cleared."""
        with self.state.lock:
            self.state.load()
        self.faults.clear()
        self.calls.clear()

    def add_instance(self, *, zone: str, instance_type: str, instance_id: str = "", **extra: Any) -> dict[str, Any]:
        """Create a CVM (with primary ENI and IP) at runtime; returns it as DescribeInstances shows it."""
        body = {"zone": zone, "instanceType": instance_type, "instanceId": instance_id, **extra}
        with self.state.lock:
            return add_instance(self.state, body)

    def wait_tasks(self, timeout: float = 5.0) -> bool:
        """Block until no task is running and every hook has fired; False on timeout."""
        deadline = self.state.clock() + timeout
        while not self._stop.is_set():
            with self.state.lock:
                self._hooks.submit(self.state.settle(self.state.clock()))
                due = self.state.next_due()
            if due is None:
                return self._hooks.flush(max(0.0, deadline - self.state.clock()))
            if self.state.clock() >= deadline:
                return False
            self._stop.wait(min(max(0.0, due - self.state.clock()) + 0.001, 0.1))
        return False

    @property
    def task_delay(self) -> float:
        return self.state.task_delay

    @task_delay.setter
    def task_delay(self, seconds: float) -> None:
        """Change the delay of tasks started from now on."""
        if seconds < 0:
            raise ValueError("task_delay must be >= 0")
        with self.state.lock:
            self.state.task_delay = seconds

    def finish_tasks(self) -> None:
        """Make every running task due now and settle it (hooks are queued as usual)."""
        with self.state.lock:
            now = self.state.clock()
            for task in self.state.running.values():
                task.due = min(task.due, now)
            self._hooks.submit(self.state.settle(now))

    def flush_hooks(self, timeout: float = 5.0) -> bool:
        return self._hooks.flush(timeout)

    # ---- internals ---------------------------------------------------------------------------------

    def _finish_tasks(self) -> None:
        while not self._stop.is_set():
            self.state.wake.clear()
            with self.state.lock:
                self._hooks.submit(self.state.settle(self.state.clock()))
                due = self.state.next_due()
            wait = MAX_FINISHER_WAIT if due is None else min(MAX_FINISHER_WAIT, max(0.0, due - self.state.clock()))
            if wait > 0:
                self.state.wake.wait(wait)

    def _admin_routes(self) -> dict[tuple[str, str], AdminRoute]:
        def set_faults(body: Any) -> tuple[int, Any]:
            self.faults.update(body)
            return 200, self.faults.to_dict()

        def clear_faults(body: Any) -> tuple[int, Any]:
            self.faults.clear()
            return 200, self.faults.to_dict()

        def reset(body: Any) -> tuple[int, Any]:
            self.reset()
            return 200, {"reset": True}

        def instances(body: Any) -> tuple[int, Any]:
            with self.state.lock:
                return 200, add_instance(self.state, body)

        def calls(body: Any) -> tuple[int, Any]:
            return 200, [
                {"action": r.action, "service": r.service, "time": r.time, "outcome": r.outcome,
                 "requestId": r.request_id}
                for r in self.calls.records()
            ]

        return {
            ("GET", "/_admin/faults"): lambda body: (200, self.faults.to_dict()),
            ("PUT", "/_admin/faults"): set_faults,
            ("POST", "/_admin/faults"): set_faults,
            ("DELETE", "/_admin/faults"): clear_faults,
            ("GET", "/_admin/state"): lambda body: (200, self.snapshot()),
            ("POST", "/_admin/reset"): reset,
            ("POST", "/_admin/instances"): instances,
            ("GET", "/_admin/calls"): calls,
        }
