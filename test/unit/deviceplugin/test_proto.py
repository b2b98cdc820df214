"""The v1beta1 wire contract: message and field numbers, method paths and streaming as the kubelet expects."""

import pytest
from google.protobuf.descriptor import FieldDescriptor as F

from eni.rpc import deviceplugin_pb2 as pb

S, B, I32, I64, M = F.TYPE_STRING, F.TYPE_BOOL, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_MESSAGE

# message → [(field, number, type, repeated)]
EXPECTED = {
    "DevicePluginOptions": [("pre_start_required", 1, B, False), ("get_preferred_allocation_available", 2, B, False)],
    "RegisterRequest": [("version", 1, S, False), ("endpoint", 2, S, False), ("resource_name", 3, S, False),
                        ("options", 4, M, False)],
    "Empty": [],
    "ListAndWatchResponse": [("devices", 1, M, True)],
    "TopologyInfo": [("nodes", 1, M, True)],
    "NUMANode": [("ID", 1, I64, False)],
    "Device": [("ID", 1, S, False), ("health", 2, S, False), ("topology", 3, M, False)],
    "PreStartContainerRequest": [("devices_ids", 1, S, True)],
    "PreStartContainerResponse": [],
    "PreferredAllocationRequest": [("container_requests", 1, M, True)],
    "ContainerPreferredAllocationRequest": [("available_deviceIDs", 1, S, True), ("must_include_deviceIDs", 2, S, True),
                                            ("allocation_size", 3, I32, False)],
    "PreferredAllocationResponse": [("container_responses", 1, M, True)],
    "ContainerPreferredAllocationResponse": [("deviceIDs", 1, S, True)],
    "AllocateRequest": [("container_requests", 1, M, True)],
    "ContainerAllocateRequest": [("devices_ids", 1, S, True)],
    "CDIDevice": [("name", 1, S, False)],
    "AllocateResponse": [("container_responses", 1, M, True)],
    "ContainerAllocateResponse": [("envs", 1, M, True), ("mounts", 2, M, True), ("devices", 3, M, True),
                                  ("annotations", 4, M, True), ("cdi_devices", 5, M, True)],
    "Mount": [("container_path", 1, S, False), ("host_path", 2, S, False), ("read_only", 3, B, False)],
    "DeviceSpec": [("container_path", 1, S, False), ("host_path", 2, S, False), ("permissions", 3, S, False)],
}


def test_package_and_message_set():
    assert pb.DESCRIPTOR.package == "v1beta1"
    assert set(pb.DESCRIPTOR.message_types_by_name) == set(EXPECTED)


@pytest.mark.parametrize("message", sorted(EXPECTED))
def test_fields(message):
    fields = pb.DESCRIPTOR.message_types_by_name[message].fields
    assert [(f.name, f.number, f.type, f.is_repeated) for f in fields] == EXPECTED[message]


def test_services():
    services = {
        s.full_name: [(m.name, m.input_type.name, m.output_type.name, m.server_streaming) for m in s.methods]
        for s in pb.DESCRIPTOR.services_by_name.values()
    }
    assert services == {
        "v1beta1.Registration": [("Register", "RegisterRequest", "Empty", False)],
        "v1beta1.DevicePlugin": [
            ("GetDevicePluginOptions", "Empty", "DevicePluginOptions", False),
            ("ListAndWatch", "Empty", "ListAndWatchResponse", True),
            ("GetPreferredAllocation", "PreferredAllocationRequest", "PreferredAllocationResponse", False),
            ("Allocate", "AllocateRequest", "AllocateResponse", False),
            ("PreStartContainer", "PreStartContainerRequest", "PreStartContainerResponse", False),
        ],
    }


def test_register_request_bytes():
    request = pb.RegisterRequest(version="v1beta1", endpoint="a.sock", resource_name="x.io/y")
    assert request.SerializeToString() == b"\n\x07v1beta1\x12\x06a.sock\x1a\x06x.io/y"
