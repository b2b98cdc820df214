"""The DevicePlugin servicer's logic, driven directly with a stand-in for grpc's ServicerContext."""

import grpc
import pytest

from eni.agent.deviceplugin import ENI_IP, HEALTHY, UNHEALTHY, DeviceCounts
from eni.agent.deviceplugin.inventory import DeviceInventory
from eni.agent.deviceplugin.servicer import MAX_CONTAINER_REQUESTS, DevicePluginServicer
from eni.rpc import deviceplugin_pb2 as pb


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(details)
        self.code = code
        self.details = details


class Context:
    """Enough of grpc.ServicerContext for the servicer: liveness, termination callbacks, abort."""

    def __init__(self):
        self.active = True
        self.callbacks = []

    def is_active(self):
        return self.active

    def add_callback(self, callback):
        self.callbacks.append(callback)
        return True

    def abort(self, code, details):
        raise Aborted(code, details)

    def terminate(self):
        self.active = False
        for callback in self.callbacks:
            callback()


@pytest.fixture
def parts():
    inventory = DeviceInventory(DeviceCounts(capacity=3, healthy=1))
    # A long heartbeat: the stream must react to changes and termination, not to a timer.
    servicer = DevicePluginServicer(resource=ENI_IP, inventory=inventory, heartbeat=3600)
    return servicer, inventory


def health(response):
    return [(d.ID, d.health) for d in response.devices]


def test_stream_sends_the_list_then_every_change(parts):
    servicer, inventory = parts
    stream = servicer.ListAndWatch(pb.Empty(), Context())

    assert health(next(stream)) == [("eni-ip-0", HEALTHY), ("eni-ip-1", UNHEALTHY), ("eni-ip-2", UNHEALTHY)]
    assert servicer.active_streams == 1
    inventory.update(capacity=2, healthy=2)
    assert health(next(stream)) == [("eni-ip-0", HEALTHY), ("eni-ip-1", HEALTHY)]
    stream.close()
    assert servicer.active_streams == 0


def test_stream_ends_when_the_plugin_closes(parts):
    servicer, inventory = parts
    stream = servicer.ListAndWatch(pb.Empty(), Context())
    next(stream)
    servicer.end_streams()
    inventory.update(capacity=9, healthy=9)  # an ended stream sends nothing more

    assert list(stream) == []
    assert servicer.active_streams == 0
    later = servicer.ListAndWatch(pb.Empty(), Context())  # streams opened afterwards work as usual
    assert len(next(later).devices) == 9
    later.close()


def test_stream_ends_when_the_kubelet_goes_away(parts):
    servicer, _ = parts
    context = Context()
    stream = servicer.ListAndWatch(pb.Empty(), context)
    next(stream)
    context.terminate()

    assert list(stream) == []


def test_allocate_answers_each_container_with_nothing_to_inject(parts):
    servicer, _ = parts
    request = pb.AllocateRequest(
        container_requests=[pb.ContainerAllocateRequest(devices_ids=["eni-ip-0"]), pb.ContainerAllocateRequest()]
    )
    with pytest.raises(Aborted, match="names no device"):
        servicer.Allocate(request, Context())

    request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["eni-ip-0"])])
    response = servicer.Allocate(request, Context())
    assert response == pb.AllocateResponse(container_responses=[pb.ContainerAllocateResponse()])


@pytest.mark.parametrize("containers", [0, MAX_CONTAINER_REQUESTS + 1])
def test_allocate_rejects_absurd_container_counts(parts, containers):
    servicer, _ = parts
    request = pb.AllocateRequest(
        container_requests=[pb.ContainerAllocateRequest(devices_ids=["eni-ip-0"])] * containers
    )
    with pytest.raises(Aborted) as raised:
        servicer.Allocate(request, Context())
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_pre_start_accepts_known_devices_even_if_unhealthy(parts):
    servicer, _ = parts

    assert servicer.PreStartContainer(pb.PreStartContainerRequest(devices_ids=["eni-ip-2"]), Context()) == (
        pb.PreStartContainerResponse()
    )
    with pytest.raises(Aborted, match="unknown device id"):
        servicer.PreStartContainer(pb.PreStartContainerRequest(devices_ids=["eni-ip-3"]), Context())


def test_options_ask_for_no_extra_calls(parts):
    servicer, _ = parts
    options = servicer.GetDevicePluginOptions(pb.Empty(), Context())

    assert not options.pre_start_required
    assert not options.get_preferred_allocation_available
