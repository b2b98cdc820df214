"""The edge mapping of domain errors (one table for gRPC and the JSON socket) and the methods table."""

import pytest

import eni.agent
from eni.agent.errors import (
    AgentError,
    CheckFailedError,
    InvalidRequestError,
    LedgerError,
    NetworkSetupError,
    PoolExhaustedError,
    UnknownContainerError,
)
from eni.agent.handlers import AgentHandlers, error_info, error_message
from eni.rpc import agent_pb2 as pb


@pytest.mark.parametrize(
    "error, reason, cni_code, grpc_code, retryable",
    [
        (PoolExhaustedError("x"), "POOL_EXHAUSTED", 11, "RESOURCE_EXHAUSTED", True),
        (LedgerError("x"), "UNAVAILABLE", 11, "UNAVAILABLE", True),
        (UnknownContainerError("x"), "UNKNOWN_CONTAINER", 3, "NOT_FOUND", False),
        (InvalidRequestError("x"), "INVALID_REQUEST", 4, "INVALID_ARGUMENT", False),
        (NetworkSetupError("x"), "NETWORK_FAILED", 101, "INTERNAL", False),
        (CheckFailedError("x"), "CHECK_FAILED", 102, "FAILED_PRECONDITION", False),
        (AgentError("x"), "INTERNAL", 999, "INTERNAL", False),
        (KeyError("x"), "INTERNAL", 999, "INTERNAL", False),
    ],
)
def test_error_mapping(error, reason, cni_code, grpc_code, retryable):
    info = error_info(error)
    assert (info.reason, info.cni_code, info.grpc_code, info.retryable) == (reason, cni_code, grpc_code, retryable)
    message = error_message(error)
    assert pb.ErrorReason.Name(message.reason) == reason and message.cni_code == cni_code


def test_unexpected_errors_do_not_leak_their_text():
    assert error_message(KeyError("secret detail")).message == "internal error in the agent"


def test_every_reason_in_the_proto_is_mapped():
    mapped = {error_info(cls("x")).reason for cls in AgentError.__subclasses__()} | {"INTERNAL"}
    assert mapped == set(pb.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}


def test_methods_are_the_services_of_the_proto():
    handlers = AgentHandlers(service=None)
    expected = {f"/tke.eni.agent.v1.{s.name}/{m.name}"
                for s in pb.DESCRIPTOR.services_by_name.values() for m in s.methods}
    assert set(handlers.methods) == expected
    for method in handlers.methods.values():
        service = pb.DESCRIPTOR.services_by_name[method.service]
        assert service.methods_by_name[method.name].input_type.full_name == method.request_type.DESCRIPTOR.full_name


def test_run_servers_is_exported_lazily():
    from eni.agent.server import run_servers

    assert eni.agent.run_servers is run_servers
    with pytest.raises(AttributeError):
        eni.agent.nothing_here  # noqa: B018
