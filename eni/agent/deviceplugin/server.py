"""``DevicePluginServer``: one extended resource served to the kubelet, for as long as the agent runs.

Lifecycle, as the kubelet expects it of any device plugin:

1. serve ``v1beta1.DevicePlugin`` on ``<plugin_dir>/<socket_name>`` (grpcio, its own thread pool);
2. register with the kubelet on ``kubelet.sock`` (version v1beta1, endpoint = our socket's file name);
3. every ``poll_interval``: if our socket file is gone or replaced (a restarting kubelet wipes the folder),
   serve a fresh one; if ``kubelet.sock`` is a new incarnation, or the last Register failed, register again;
4. on stop: end every ListAndWatch stream cleanly, stop gRPC within ``shutdown_grace``, remove our socket.

The counts come from outside through ``update(capacity=, healthy=)``; every open stream sends the new list.
This module needs only grpc and ``eni.rpc``: it must never import the Kubernetes client or ``eni.runtime``,
and it never deletes anything in the folder but its own socket.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from eni.rpc import deviceplugin_pb2_grpc as pb_grpc

from .devices import DeviceCounts
from .errors import DevicePluginError, RegistrationError
from .inventory import DeviceInventory
from .protocol import unix_target
from .registration import register_with_kubelet
from .resource import ResourceSpec
from .servicer import PLUGIN_OPTIONS, DevicePluginServicer
from .settings import DevicePluginSettings
from .socketfile import FileIdentity, file_identity, remove_socket

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest request the plugin accepts; a v1beta1 request for a whole node is a few kilobytes."""


class DevicePluginServer:
    """Serves and registers the device plugin of one resource; ``start(stop)`` blocks until ``stop`` is set.

    ``update`` and the read-only properties are thread-safe and may be called before, during and after
    ``start``. A server runs once: build a new one to serve again.
    """

    def __init__(
        self,
        resource: ResourceSpec,
        settings: DevicePluginSettings | None = None,
        *,
        capacity: int = 0,
        healthy: int = 0,
    ) -> None:
        self._resource = resource
        self._settings = settings or DevicePluginSettings()
        self._inventory = DeviceInventory(DeviceCounts(capacity=capacity, healthy=healthy))
        self._servicer = DevicePluginServicer(
            resource=resource,
            inventory=self._inventory,
            heartbeat=self._settings.stream_heartbeat,
        )
        self._lock = threading.Lock()
        self._started = False  # guarded by _lock; start() runs once
        self._registrations = 0  # guarded by _lock; successful Register calls so far
        self._registered_with: FileIdentity | None = None  # guarded by _lock; the kubelet.sock that accepted us
        self._last_error = ""  # guarded by _lock; why the last Register failed, "" after a success
        # Owned by the thread inside start():
        self._grpc_server: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._socket_identity: FileIdentity | None = None  # our socket file as we bound it

    @property
    def resource(self) -> ResourceSpec:
        return self._resource

    @property
    def socket_path(self) -> Path:
        """Where this plugin serves ``v1beta1.DevicePlugin``."""
        return self._settings.plugin_dir / self._resource.socket_name

    @property
    def counts(self) -> DeviceCounts:
        """The counts advertised now."""
        return self._inventory.snapshot()[1]

    @property
    def registrations(self) -> int:
        """How many times the kubelet accepted this plugin's registration."""
        with self._lock:
            return self._registrations

    @property
    def registered(self) -> bool:
        """Whether the kubelet that listens now has accepted this plugin."""
        with self._lock:
            registered_with = self._registered_with
        return registered_with is not None and registered_with == file_identity(self._settings.kubelet_socket)

    def check_registered(self) -> None:
        """A readiness checker: raise RegistrationError, with the last failure, unless ``registered``."""
        if not self.registered:
            with self._lock:
                reason = self._last_error or "not registered with the kubelet yet"
            raise RegistrationError(f"{self._resource.name}: {reason}")

    def need_leader_election(self) -> bool:
        """Never: every node serves its own plugins."""
        return False

    @property
    def active_streams(self) -> int:
        """How many ListAndWatch streams are open now."""
        return self._servicer.active_streams

    def update(self, *, capacity: int, healthy: int) -> bool:
        """Advertise ``capacity`` devices of which ``healthy`` are usable; return whether anything changed.

        Raises InvalidDeviceCountsError (and changes nothing) unless ``0 <= healthy <= capacity <= MAX_DEVICES``.
        """
        changed = self._inventory.update(capacity=capacity, healthy=healthy)
        if changed:
            log.info("Device counts changed", extra={"resource": self._resource.name, "capacity": capacity,
                                                     "healthy": healthy})
        return changed

    def start(self, stop: threading.Event) -> None:
        """Serve, register and keep both alive until ``stop`` is set; then shut down and remove our socket.

        Raises SocketPathError when our socket path is taken by something that is not a socket.
        """
        with self._lock:
            if self._started:
                raise RuntimeError(f"the device plugin for {self._resource.name} was already started")
            self._started = True
        try:
            self._serve()
            self._register()
            while not stop.wait(self._settings.poll_interval):
                try:
                    self._check_sockets()
                except Exception:  # NB: one bad poll (an unreadable folder) must not end the plugin
                    log.exception("Device plugin poll failed", extra={"resource": self._resource.name})
        finally:
            self._shutdown()

    def _check_sockets(self) -> None:
        """One poll: re-serve a removed socket, re-register with a new kubelet or after a failure."""
        if file_identity(self._settings.plugin_dir / self._resource.socket_name) != self._socket_identity:
            log.warning("Plugin socket removed, serving it again", extra={"resource": self._resource.name})
            self._forget_registration()  # the kubelet must learn about the new socket
            try:
                self._serve()
            except (DevicePluginError, OSError, RuntimeError) as e:
                log.error("Serving device plugin failed", extra={"resource": self._resource.name, "error": str(e)})
                return  # retried on the next poll: our socket still differs from what we bound
        kubelet = file_identity(self._settings.kubelet_socket)
        with self._lock:
            registered_with = self._registered_with
        if kubelet is None:
            self._forget_registration()
        elif kubelet != registered_with:
            self._register()

    def _serve(self) -> None:
        path = self._settings.plugin_dir / self._resource.socket_name
        self._stop_grpc()  # the server of a removed socket, or of a failed earlier attempt
        self._settings.plugin_dir.mkdir(parents=True, exist_ok=True)
        remove_socket(path)  # a stale socket of an earlier run; never anything else
        self._executor = ThreadPoolExecutor(
            max_workers=self._settings.max_workers, thread_name_prefix=f"dp-{self._resource.device_prefix}"
        )
        server = grpc.server(
            self._executor,
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
        )
        pb_grpc.add_DevicePluginServicer_to_server(self._servicer, server)  # type: ignore[no-untyped-call]
        self._grpc_server = server  # NB: set before binding, so a failed bind is still stopped by _stop_grpc
        server.add_insecure_port(unix_target(path))
        server.start()
        os.chmod(path, 0o600)
        self._socket_identity = file_identity(path)
        log.info("Serving device plugin", extra={"resource": self._resource.name, "socket": str(path)})

    def _register(self) -> None:
        kubelet = file_identity(self._settings.kubelet_socket)
        if kubelet is None:
            return
        try:
            register_with_kubelet(
                kubelet_socket=self._settings.kubelet_socket,
                resource=self._resource,
                options=PLUGIN_OPTIONS,
                timeout=self._settings.register_timeout,
            )
        except RegistrationError as e:
            with self._lock:
                repeated, self._last_error = self._last_error == str(e), str(e)
            # Retried on every poll; log only when the reason changes, not once a second.
            if not repeated:
                log.warning("Registration with kubelet failed", extra={"resource": self._resource.name,
                                                                       "error": str(e)})
            return
        with self._lock:
            self._registered_with, self._last_error = kubelet, ""
            self._registrations += 1
        log.info("Registered with kubelet", extra={"resource": self._resource.name})

    def _forget_registration(self) -> None:
        with self._lock:
            self._registered_with = None

    def _stop_grpc(self) -> None:
        # NB: streams are ended before gRPC stops, so the kubelet sees them complete with OK rather than
        # cancelled, and the stop does not wait out the grace period for them.
        self._servicer.end_streams()
        server, executor = self._grpc_server, self._executor
        self._grpc_server, self._executor = None, None
        if server is not None:
            server.stop(self._settings.shutdown_grace).wait(self._settings.shutdown_grace + 1.0)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _shutdown(self) -> None:
        self._forget_registration()
        self._stop_grpc()
        if self._socket_identity is not None:
            remove_socket(self._settings.plugin_dir / self._resource.socket_name, only=self._socket_identity)
        log.info("Device plugin stopped", extra={"resource": self._resource.name})
