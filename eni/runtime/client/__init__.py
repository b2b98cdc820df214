"""A typed-error client over the official Kubernetes client."""

from eni.runtime.client.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    TooManyRequestsError,
    TransportError,
)
from eni.runtime.client.interfaces import Client, PatchType, Preconditions, PropagationPolicy, Reader, Writer
from eni.runtime.client.kube import KubeClient
from eni.runtime.client.retry import mutate_with_retry, retry_on_conflict
from eni.runtime.client.transport import KubeTransport

__all__ = [
    "AlreadyExistsError",
    "ApiError",
    "Client",
    "ConflictError",
    "GoneError",
    "InvalidError",
    "KubeClient",
    "KubeTransport",
    "NotFoundError",
    "PatchType",
    "Preconditions",
    "PropagationPolicy",
    "Reader",
    "TooManyRequestsError",
    "TransportError",
    "Writer",
    "mutate_with_retry",
    "retry_on_conflict",
]
