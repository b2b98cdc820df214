"""Registering a device plugin with the kubelet's ``v1beta1.Registration`` service.

One bounded call per attempt: no retries here, the plugin's watch loop decides when to try again. It fails
fast when nothing listens on the kubelet's socket, so a plugin started before the kubelet just keeps polling.
gRPC errors never leave this module raw: they become ``RegistrationError`` with the status in the message.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from eni.rpc import deviceplugin_pb2 as pb
from eni.rpc import deviceplugin_pb2_grpc as pb_grpc

from .errors import RegistrationError
from .protocol import API_VERSION, unix_target
from .resource import ResourceSpec


def register_with_kubelet(
    *, kubelet_socket: Path, resource: ResourceSpec, options: pb.DevicePluginOptions, timeout: float
) -> None:
    """Ask the kubelet behind ``kubelet_socket`` to take ``resource`` from our socket; raise RegistrationError.

    The plugin must already serve its socket: the kubelet dials it back after accepting.
    """
    request = pb.RegisterRequest(
        version=API_VERSION, endpoint=resource.socket_name, resource_name=resource.name, options=options
    )
    channel = grpc.insecure_channel(unix_target(kubelet_socket))
    try:
        stub = pb_grpc.RegistrationStub(channel)  # type: ignore[no-untyped-call]  # generated stubs are untyped
        stub.Register(request, timeout=timeout)
    except grpc.RpcError as e:
        raise RegistrationError(
            f"registering {resource.name} with the kubelet at {kubelet_socket} failed: {e.code().name}: {e.details()}"
        ) from e
    finally:
        channel.close()
