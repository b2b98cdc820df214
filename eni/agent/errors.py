"""The agent's domain errors, raised by the ledger and the service and mapped only at the edges.

Hierarchy::

    AgentError
     ├── PoolExhaustedError     no IP free yet; retryable (CNI 11, gRPC RESOURCE_EXHAUSTED)
     │    └── StaticIpPendingError  ipamd has not listed the pod's static IP on this node yet
     │         └── DirectEniPendingError  static-IP mode: the pod's exclusive ENI is not usable on this node yet
     ├── UnknownContainerError  no allocation for the attachment (CNI 3, gRPC NOT_FOUND)
     ├── InvalidRequestError    malformed request; nothing changed (CNI 4, gRPC INVALID_ARGUMENT)
     ├── NetworkSetupError      the pod's network could not be set up (CNI 101, gRPC INTERNAL)
     ├── CheckFailedError       the pod's network drifted (CNI 102, gRPC FAILED_PRECONDITION)
     ├── LedgerError            the ledger could not be persisted; nothing changed (CNI 11, gRPC UNAVAILABLE)
     └── PodUnknownError        the pod's network (shared or exclusive) cannot be told now (CNI 11, gRPC UNAVAILABLE)

Each class carries its ``reason``, the ``ErrorReason`` name of api/agent.proto. This module must never
import grpc or protobuf: the edges own those mappings.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "CheckFailedError",
    "DirectEniPendingError",
    "InvalidRequestError",
    "LedgerError",
    "NetworkSetupError",
    "PodUnknownError",
    "PoolExhaustedError",
    "StaticIpPendingError",
    "UnknownContainerError",
]


class AgentError(Exception):
    """Base of the agent's domain errors."""

    reason = "INTERNAL"
    retryable = False


class PoolExhaustedError(AgentError):
    reason = "POOL_EXHAUSTED"
    retryable = True


class StaticIpPendingError(PoolExhaustedError):
    """Static-IP mode: the pod's IP is not (or not yet usable) on this node; the NEC status will bring it."""


class DirectEniPendingError(StaticIpPendingError):
    """Static-IP mode: ipamd has not listed (or not yet freed) the exclusive ENI reserved for the pod."""


class UnknownContainerError(AgentError):
    reason = "UNKNOWN_CONTAINER"


class InvalidRequestError(AgentError):
    reason = "INVALID_REQUEST"


class NetworkSetupError(AgentError):
    reason = "NETWORK_FAILED"


class CheckFailedError(AgentError):
    reason = "CHECK_FAILED"


class LedgerError(AgentError):
    reason = "UNAVAILABLE"
    retryable = True


class PodUnknownError(AgentError):
    """The API server cannot be asked whether the pod wants an exclusive ENI; guessing could plumb it wrongly."""

    reason = "UNAVAILABLE"
    retryable = True
