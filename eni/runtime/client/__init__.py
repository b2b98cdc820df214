"""A typed-error Kubernetes client over a KubeTransport: the official client's ApiClient, or the standard library
(``eni.runtime.client.stdlib.StdlibConnector`` with a config from ``eni.runtime.kubeconfig``)."""

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
