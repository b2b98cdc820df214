"""The ``v1beta1.DevicePlugin`` gRPC service of one extended resource.

The devices are counts, not hardware (see ``devices``), so Allocate hands the container nothing: the CNI
plugin gives the pod its IP. Allocate still checks the ids, so a kubelet that is out of step with the plugin
gets a clear error instead of an overcommitted node. ListAndWatch sends the full list at once and again on
every change; each stream ends cleanly (status OK) when the plugin closes or the kubelet goes away.
Domain errors are turned into gRPC status codes here and nowhere else; no handler lets an exception escape
as a crash of the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import grpc

from eni.rpc import deviceplugin_pb2 as pb
from eni.rpc import deviceplugin_pb2_grpc as pb_grpc

from .devices import DeviceCounts, advertised_devices, check_device_ids, preferred_allocation
from .errors import InvalidDeviceRequestError
from .inventory import DeviceInventory
from .resource import ResourceSpec

log = logging.getLogger(__name__)

MAX_CONTAINER_REQUESTS = 256
"""More containers than a pod can have; bounds the work one request can cause."""

# NB: GetPreferredAllocation is served but not advertised: every device is as good as another, and
# advertising it would add one more kubelet round trip to every pod admission.
PLUGIN_OPTIONS = pb.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=False)


def abort_invalid(context: Any, message: str) -> NoReturn:
    """End the call with INVALID_ARGUMENT and ``message``."""
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
    raise AssertionError("ServicerContext.abort returned")  # abort always raises


def list_response(prefix: str, counts: DeviceCounts) -> pb.ListAndWatchResponse:
    """The ListAndWatch message for ``counts``."""
    devices = [pb.Device(ID=d.id, health=d.health) for d in advertised_devices(prefix, counts)]
    return pb.ListAndWatchResponse(devices=devices)


class DevicePluginServicer(pb_grpc.DevicePluginServicer):
    """Serves one resource's devices from a ``DeviceInventory``; thread-safe, one gRPC thread per stream."""

    def __init__(
        self, *, resource: ResourceSpec, inventory: DeviceInventory, heartbeat: float
    ) -> None:
        self._resource = resource
        self._inventory = inventory
        self._heartbeat = heartbeat  # longest wait before a stream re-checks that its client is still there
        self._lock = threading.Lock()
        self._active_streams = 0  # guarded by _lock
        self._epoch = 0  # guarded by _lock; streams opened in an earlier epoch return

    @property
    def active_streams(self) -> int:
        """How many ListAndWatch streams are open now."""
        with self._lock:
            return self._active_streams

    def end_streams(self) -> None:
        """Make every open ListAndWatch stream return (status OK) at its next wake-up, which is now."""
        with self._lock:
            self._epoch += 1
        self._inventory.wake_all()

    def _current(self, epoch: int) -> bool:
        with self._lock:
            return self._epoch == epoch

    def GetDevicePluginOptions(self, request: pb.Empty, context: Any) -> pb.DevicePluginOptions:
        return PLUGIN_OPTIONS

    def ListAndWatch(self, request: pb.Empty, context: Any) -> Iterator[pb.ListAndWatchResponse]:
        context.add_callback(self._inventory.wake_all)
        with self._lock:
            self._active_streams += 1
            epoch = self._epoch
        try:
            yield from self._stream(context, epoch)
        finally:
            with self._lock:
                self._active_streams -= 1

    def _stream(self, context: Any, epoch: int) -> Iterator[pb.ListAndWatchResponse]:
        generation, counts = self._inventory.snapshot()
        log.info("ListAndWatch opened", extra={"resource": self._resource.name, "devices": counts.capacity})
        yield list_response(self._resource.device_prefix, counts)
        while self._current(epoch) and context.is_active():
            latest, counts = self._inventory.wait_for_change(generation, timeout=self._heartbeat)
            if latest != generation and self._current(epoch):
                generation = latest
                yield list_response(self._resource.device_prefix, counts)
        log.info("ListAndWatch closed", extra={"resource": self._resource.name})

    def GetPreferredAllocation(
        self, request: pb.PreferredAllocationRequest, context: Any
    ) -> pb.PreferredAllocationResponse:
        _, counts = self._inventory.snapshot()
        self._check_request_size(len(request.container_requests), context)
        responses = []
        for container in request.container_requests:
            try:
                chosen = preferred_allocation(
                    self._resource.device_prefix,
                    counts,
                    available=container.available_deviceIDs,
                    must_include=container.must_include_deviceIDs,
                    size=container.allocation_size,
                )
            except InvalidDeviceRequestError as e:
                abort_invalid(context, f"{self._resource.name}: {e}")
            responses.append(pb.ContainerPreferredAllocationResponse(deviceIDs=chosen))
        return pb.PreferredAllocationResponse(container_responses=responses)

    def Allocate(self, request: pb.AllocateRequest, context: Any) -> pb.AllocateResponse:
        self._check_devices(request.container_requests, context, require_healthy=True)
        log.debug("Allocated devices", extra={"resource": self._resource.name})
        return pb.AllocateResponse(
            container_responses=[pb.ContainerAllocateResponse() for _ in request.container_requests]
        )

    def PreStartContainer(self, request: pb.PreStartContainerRequest, context: Any) -> pb.PreStartContainerResponse:
        self._check_devices([request], context, require_healthy=False)
        return pb.PreStartContainerResponse()

    def _check_devices(self, containers: Any, context: Any, *, require_healthy: bool) -> None:
        """Abort the call with INVALID_ARGUMENT unless every container names devices we list now."""
        self._check_request_size(len(containers), context)
        _, counts = self._inventory.snapshot()
        for container in containers:
            try:
                check_device_ids(
                    self._resource.device_prefix, counts, container.devices_ids, require_healthy=require_healthy
                )
            except InvalidDeviceRequestError as e:
                abort_invalid(context, f"{self._resource.name}: {e}")

    def _check_request_size(self, containers: int, context: Any) -> None:
        if containers == 0 or containers > MAX_CONTAINER_REQUESTS:
            limit = MAX_CONTAINER_REQUESTS
            abort_invalid(context, f"{self._resource.name}: expected 1..{limit} container requests, got {containers}")
