"""``FakeDeviceManager``: the kubelet's device manager, enough of it to run real device plugins against.

It serves ``v1beta1.Registration`` on ``<plugin_dir>/kubelet.sock``, checks each Register the way the
kubelet does (API version, extended resource name, endpoint), dials the plugin back, consumes its
ListAndWatch and derives the node's extended resources from it: capacity = devices listed, allocatable =
Healthy devices listed. A plugin whose stream ends keeps its capacity with allocatable 0, as the kubelet
marks such devices unhealthy. ``on_change`` hears every change of a resource's counts; the local cluster
publishes them to the Node status. ``restart`` does what a kubelet restart does to the folder: the socket
is removed and recreated, and (by default) every plugin socket in the folder is wiped.

It is a test double with real behaviour over real gRPC; it never touches files it did not create except
the sockets a restarting kubelet would remove, and never blocks without a timeout.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import grpc

from eni.agent.deviceplugin.protocol import API_VERSION, HEALTHY, KUBELET_SOCKET_NAME, UNHEALTHY, unix_target
from eni.agent.deviceplugin.resource import is_extended_resource_name
from eni.agent.deviceplugin.socketfile import remove_socket
from eni.rpc import deviceplugin_pb2 as pb
from eni.rpc import deviceplugin_pb2_grpc as pb_grpc

from .endpoint import DeviceTable, PluginEndpoint

log = logging.getLogger(__name__)

PINNED_SOCKET_NAME = f".{KUBELET_SOCKET_NAME}.previous"
"""A second name for the old ``kubelet.sock`` during ``restart``; see there."""

RECHECK_INTERVAL = 0.05
"""Seconds between re-checks of a ``wait_until`` predicate when nothing here changes."""


@dataclass(frozen=True, slots=True)
class ResourceCounts:
    """What the node status shows for one extended resource."""

    capacity: int
    allocatable: int


@dataclass(frozen=True, slots=True)
class PluginRegistration:
    """One accepted Register call, as the plugin sent it."""

    version: str
    endpoint: str
    resource_name: str
    pre_start_required: bool
    get_preferred_allocation_available: bool


class UnknownResourceError(LookupError):
    """No plugin is registered for the resource."""


class FakeDeviceManager:
    """A kubelet device manager over real gRPC on unix sockets in ``plugin_dir``; thread-safe.

    ``on_change(resource, counts)`` runs on the thread that saw the change (a plugin's stream consumer, or the
    caller of ``stop``), never under the manager's lock, so it may call back into the manager.
    """

    def __init__(
        self,
        plugin_dir: Path,
        *,
        on_change: Callable[[str, ResourceCounts], None] | None = None,
        call_timeout: float = 5.0,
    ) -> None:
        self.plugin_dir = plugin_dir
        self.kubelet_socket = plugin_dir / KUBELET_SOCKET_NAME
        self._on_change = on_change
        self._call_timeout = call_timeout
        self._cond = threading.Condition()
        # All guarded by _cond; waiters in wait_until are woken on every change.
        self._endpoints: dict[str, PluginEndpoint] = {}  # resource → the endpoint of its live registration
        self._devices: dict[str, DeviceTable] = {}  # resource → last device list (health forced off when closed)
        self._registrations: list[PluginRegistration] = []
        self._server: Any = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve Registration on ``kubelet.sock``; a stale socket there is replaced."""
        with self._cond:
            if self._server is not None:
                raise RuntimeError(f"the fake kubelet in {self.plugin_dir} is already serving")
        self.plugin_dir.mkdir(parents=True, exist_ok=True)
        remove_socket(self.kubelet_socket)
        server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-kubelet"))
        pb_grpc.add_RegistrationServicer_to_server(_RegistrationServicer(self), server)  # type: ignore[no-untyped-call]
        server.add_insecure_port(unix_target(self.kubelet_socket))
        server.start()
        with self._cond:
            self._server = server
        log.info("Fake kubelet serving registration", extra={"socket": str(self.kubelet_socket)})

    def stop(self) -> None:
        """Stop serving, drop every plugin connection and remove ``kubelet.sock``."""
        with self._cond:
            server, self._server = self._server, None
            endpoints, self._endpoints = list(self._endpoints.values()), {}
            before = {name: _counts(table) for name, table in self._devices.items()}
            self._devices = {name: dict.fromkeys(table, UNHEALTHY) for name, table in self._devices.items()}
            self._cond.notify_all()
        for endpoint in endpoints:
            endpoint.close(timeout=self._call_timeout)
        if server is not None:
            server.stop(0.5).wait(2.0)
        remove_socket(self.kubelet_socket)
        for name, counts in before.items():
            if counts.allocatable and self._on_change is not None:
                self._on_change(name, ResourceCounts(capacity=counts.capacity, allocatable=0))

    def restart(self, *, wipe_plugin_sockets: bool = True) -> None:
        """Act out a kubelet restart: stop, optionally wipe the plugin sockets in the folder, start again.

        The new ``kubelet.sock`` is always a new inode: plugins tell incarnations apart by inode and mtime, and
        a restart this fast could otherwise reuse both (a real kubelet takes seconds to come back).
        """
        pinned = self.plugin_dir / PINNED_SOCKET_NAME
        remove_socket(pinned)
        try:
            os.link(self.kubelet_socket, pinned)  # keeps the old inode allocated until the new socket exists
        except FileNotFoundError:
            pass  # not serving now: nothing to tell apart
        try:
            self._restart(wipe_plugin_sockets=wipe_plugin_sockets)
        finally:
            remove_socket(pinned)

    def _restart(self, *, wipe_plugin_sockets: bool) -> None:
        self.stop()
        if wipe_plugin_sockets:
            for path in self.plugin_dir.iterdir():
                try:
                    if path.name != PINNED_SOCKET_NAME and stat.S_ISSOCK(path.lstat().st_mode):
                        remove_socket(path)
                except FileNotFoundError:
                    continue  # gone by itself meanwhile
        self.start()

    def registrations(self) -> list[PluginRegistration]:
        """Every accepted registration so far, oldest first."""
        with self._cond:
            return list(self._registrations)

    def counts(self, resource: str) -> ResourceCounts:
        """The node's capacity and allocatable for ``resource``; zeros when no plugin ever listed it."""
        with self._cond:
            return _counts(self._devices.get(resource, {}))

    def resources(self) -> dict[str, ResourceCounts]:
        """Capacity and allocatable of every resource any plugin listed."""
        with self._cond:
            return {name: _counts(table) for name, table in self._devices.items()}

    def devices(self, resource: str) -> DeviceTable:
        """The devices of ``resource`` and their health as the kubelet sees them now."""
        with self._cond:
            return dict(self._devices.get(resource, {}))

    def wait_until(self, predicate: Callable[[], bool], *, timeout: float) -> bool:
        """Block until ``predicate()`` holds or ``timeout`` passes; return its last value.

        The predicate is re-checked on every change seen here and at least every ``RECHECK_INTERVAL``, so it may
        also look at state outside this manager (a plugin's own counters).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (satisfied := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, RECHECK_INTERVAL))
            return satisfied

    def allocate(self, resource: str, containers: Sequence[Sequence[str]]) -> pb.AllocateResponse:
        """Call Allocate on the plugin of ``resource``; raise UnknownResourceError or grpc.RpcError."""
        return self._endpoint(resource).allocate(containers, timeout=self._call_timeout)

    def preferred_allocation(
        self, resource: str, *, available: Sequence[str], must_include: Sequence[str] = (), size: int
    ) -> list[str]:
        """Call GetPreferredAllocation on the plugin of ``resource`` for one container."""
        return self._endpoint(resource).preferred_allocation(
            available=available, must_include=must_include, size=size, timeout=self._call_timeout
        )

    def connection(self, resource: str) -> PluginEndpoint | None:
        """The connection to the plugin currently registered for ``resource``, if any."""
        with self._cond:
            return self._endpoints.get(resource)

    def _endpoint(self, resource: str) -> PluginEndpoint:
        endpoint = self.connection(resource)
        if endpoint is None:
            raise UnknownResourceError(f"no device plugin registered for {resource!r}")
        return endpoint

    def _accept(self, request: pb.RegisterRequest) -> None:
        """Take a plugin on (for the Registration service); ValueError when the request is unacceptable."""
        if request.version != API_VERSION:
            raise ValueError(f"unsupported device plugin API version {request.version[:40]!r}; want {API_VERSION!r}")
        if not is_extended_resource_name(request.resource_name):
            raise ValueError(f"invalid extended resource name {request.resource_name[:300]!r}")
        endpoint = request.endpoint
        if not endpoint or "/" in endpoint or endpoint in (".", "..", KUBELET_SOCKET_NAME) or len(endpoint) > 255:
            raise ValueError(f"endpoint must be a socket file name in the plugin folder, got {endpoint[:300]!r}")
        record = PluginRegistration(
            version=request.version,
            endpoint=endpoint,
            resource_name=request.resource_name,
            pre_start_required=request.options.pre_start_required,
            get_preferred_allocation_available=request.options.get_preferred_allocation_available,
        )
        new = PluginEndpoint(
            resource_name=request.resource_name,
            socket_path=self.plugin_dir / endpoint,
            call_timeout=self._call_timeout,
            on_devices=self._devices_listed,
            on_closed=self._stream_closed,
        )
        with self._cond:
            old = self._endpoints.get(request.resource_name)
            self._endpoints[request.resource_name] = new
            self._registrations.append(record)
            self._cond.notify_all()
        log.info("Device plugin registered", extra={"resource": request.resource_name, "endpoint": endpoint})
        if old is not None:
            old.close(timeout=self._call_timeout)  # NB: a re-registration replaces the old connection
        new.start()

    def _devices_listed(self, endpoint: PluginEndpoint, table: DeviceTable) -> None:
        self._set_devices(endpoint, table)

    def _stream_closed(self, endpoint: PluginEndpoint) -> None:
        with self._cond:
            table = dict(self._devices.get(endpoint.resource_name, {}))
        self._set_devices(endpoint, dict.fromkeys(table, UNHEALTHY))

    def _set_devices(self, endpoint: PluginEndpoint, table: DeviceTable) -> None:
        with self._cond:
            if self._endpoints.get(endpoint.resource_name) is not endpoint:
                return  # a replaced or stopped connection no longer speaks for the resource
            before = _counts(self._devices.get(endpoint.resource_name, {}))
            self._devices[endpoint.resource_name] = table
            after = _counts(table)
            self._cond.notify_all()
        if after != before and self._on_change is not None:
            self._on_change(endpoint.resource_name, after)


def _counts(table: DeviceTable) -> ResourceCounts:
    return ResourceCounts(capacity=len(table), allocatable=sum(1 for h in table.values() if h == HEALTHY))


class _RegistrationServicer(pb_grpc.RegistrationServicer):
    """``v1beta1.Registration`` in front of a FakeDeviceManager; rejections become INVALID_ARGUMENT."""

    def __init__(self, manager: FakeDeviceManager) -> None:
        self._manager = manager

    def Register(self, request: pb.RegisterRequest, context: Any) -> pb.Empty:
        try:
            self._manager._accept(request)
        except ValueError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        return pb.Empty()
