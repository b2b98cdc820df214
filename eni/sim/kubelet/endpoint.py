"""The simulated kubelet's connection to one registered device plugin.

Mirrors the kubelet's per-plugin endpoint: dial the plugin's socket, ask for its options, then consume
ListAndWatch on a thread of its own, handing every device list to the owner. When the stream ends, for
whatever reason, the owner is told once, so it can mark the devices unusable as the kubelet does. Unary
calls carry a deadline; the one long-lived stream is bounded by ``close``, which cancels it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from eni.agent.deviceplugin.protocol import unix_target
from eni.rpc import deviceplugin_pb2 as pb
from eni.rpc import deviceplugin_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

DeviceTable = dict[str, str]
"""Device id → health string, as the plugin last listed them."""


class PluginEndpoint:
    """One plugin as seen by the kubelet: its options, its device stream, and Allocate."""

    def __init__(
        self,
        *,
        resource_name: str,
        socket_path: Path,
        call_timeout: float,
        on_devices: Callable[[PluginEndpoint, DeviceTable], None],
        on_closed: Callable[[PluginEndpoint], None],
    ) -> None:
        self.resource_name = resource_name
        self.socket_path = socket_path
        self._call_timeout = call_timeout
        self._on_devices = on_devices
        self._on_closed = on_closed
        self._channel = grpc.insecure_channel(unix_target(socket_path))
        self._stub = pb_grpc.DevicePluginStub(self._channel)  # type: ignore[no-untyped-call]  # untyped stubs
        self._lock = threading.Lock()
        self._closing = False  # guarded by _lock
        self._stream: grpc.Future | None = None  # guarded by _lock; the ListAndWatch call, to cancel it
        self._thread = threading.Thread(target=self._run, name=f"kubelet-{resource_name}", daemon=True)
        self.options: pb.DevicePluginOptions | None = None  # set once GetDevicePluginOptions answered
        self.stream_status: grpc.StatusCode | None = None  # how ListAndWatch ended; None while it runs

    def start(self) -> None:
        """Start consuming the plugin's device stream."""
        self._thread.start()

    def close(self, *, timeout: float) -> None:
        """Cancel the stream, close the channel and wait up to ``timeout`` for the consumer thread."""
        with self._lock:
            self._closing = True
            stream = self._stream
        if stream is not None:
            stream.cancel()
        self._channel.close()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def allocate(self, containers: Sequence[Sequence[str]], *, timeout: float) -> pb.AllocateResponse:
        """Call the plugin's Allocate with one container request per entry; grpc.RpcError on failure."""
        request = pb.AllocateRequest(
            container_requests=[pb.ContainerAllocateRequest(devices_ids=list(ids)) for ids in containers]
        )
        response: pb.AllocateResponse = self._stub.Allocate(request, timeout=timeout)
        return response

    def preferred_allocation(
        self, *, available: Sequence[str], must_include: Sequence[str], size: int, timeout: float
    ) -> list[str]:
        """Ask the plugin which ``size`` of ``available`` it would rather hand out; grpc.RpcError on failure."""
        request = pb.PreferredAllocationRequest(
            container_requests=[
                pb.ContainerPreferredAllocationRequest(
                    available_deviceIDs=list(available), must_include_deviceIDs=list(must_include), allocation_size=size
                )
            ]
        )
        response: pb.PreferredAllocationResponse = self._stub.GetPreferredAllocation(request, timeout=timeout)
        return [str(d) for d in response.container_responses[0].deviceIDs] if response.container_responses else []

    def _run(self) -> None:
        try:
            self.options = self._stub.GetDevicePluginOptions(
                pb.Empty(), timeout=self._call_timeout, wait_for_ready=True
            )
            with self._lock:
                if self._closing:
                    return
                stream = self._stub.ListAndWatch(pb.Empty())
                self._stream = stream
            for response in stream:
                self._on_devices(self, {d.ID: d.health for d in response.devices})
            self.stream_status = grpc.StatusCode.OK
            log.info("ListAndWatch ended by the plugin", extra={"resource": self.resource_name})
        except grpc.RpcError as e:
            self.stream_status = e.code()
            with self._lock:
                closing = self._closing
            if not closing:
                log.warning("ListAndWatch failed", extra={"resource": self.resource_name, "code": e.code().name})
        except ValueError:
            # grpc refuses calls on a channel that close() shut before this thread got to use it.
            self.stream_status = grpc.StatusCode.CANCELLED
        finally:
            self._on_closed(self)
