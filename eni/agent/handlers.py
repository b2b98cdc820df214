"""The agent API's methods over protobuf messages: converts to domain values, calls the service, converts back.

Why this shape: gRPC and the JSON socket must expose the *same* methods with the *same* messages; both
edges look methods up in ``AgentHandlers.methods`` by their gRPC path and differ only in framing. Domain
errors pass through untouched: each edge maps them (``error_info``) to its own status. The CNI verbs, which
speak in the service's own types, call the service through ``call``: timed and reported as the same methods.

Must never: decide anything about IPs or networks (the service does); catch errors it cannot map.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message import Message

from eni.agent.directledger import DirectAllocation
from eni.agent.directpool import DirectEni
from eni.agent.errors import AgentError, InvalidRequestError
from eni.agent.ledger import Allocation, AttachmentKey, PodRef
from eni.agent.pool import IpState
from eni.agent.service import AgentService, PodRequest
from eni.rpc import agent_pb2 as pb

__all__ = ["AgentHandlers", "ErrorInfo", "Method", "Observer", "error_info", "CNI_TRY_AGAIN_LATER", "DIRECT_STATES"]

_T = TypeVar("_T")

PACKAGE = "tke.eni.agent.v1"
CNI_TRY_AGAIN_LATER = 11
# GetPool shows an exclusive ENI as one PoolIp (its primary IP) in one of these states.
DIRECT_FREE, DIRECT_IN_USE, DIRECT_RELEASING, DIRECT_PROMISED, DIRECT_ABSENT = (
    "DirectFree", "DirectInUse", "DirectReleasing", "DirectPromised", "DirectAbsent")
DIRECT_STATES = frozenset({DIRECT_FREE, DIRECT_IN_USE, DIRECT_RELEASING, DIRECT_PROMISED, DIRECT_ABSENT})


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How one domain error shows at the edges."""

    reason: str
    cni_code: int
    grpc_code: str
    retryable: bool


_ERRORS: dict[str, tuple[int, str]] = {
    "POOL_EXHAUSTED": (CNI_TRY_AGAIN_LATER, "RESOURCE_EXHAUSTED"),
    "UNAVAILABLE": (CNI_TRY_AGAIN_LATER, "UNAVAILABLE"),
    "UNKNOWN_CONTAINER": (3, "NOT_FOUND"),
    "INVALID_REQUEST": (4, "INVALID_ARGUMENT"),
    "NETWORK_FAILED": (101, "INTERNAL"),
    "CHECK_FAILED": (102, "FAILED_PRECONDITION"),
    "INTERNAL": (999, "INTERNAL"),
}


def error_info(error: BaseException) -> ErrorInfo:
    """The edge mapping of ``error``; anything that is not an ``AgentError`` is INTERNAL."""
    if isinstance(error, AgentError):
        cni_code, grpc_code = _ERRORS.get(error.reason, _ERRORS["INTERNAL"])
        return ErrorInfo(reason=error.reason, cni_code=cni_code, grpc_code=grpc_code, retryable=error.retryable)
    return ErrorInfo(reason="INTERNAL", cni_code=999, grpc_code="INTERNAL", retryable=False)


def error_text(error: BaseException) -> str:
    """What the edges tell of ``error``: an ``AgentError``'s own words, nothing of any other."""
    return str(error) if isinstance(error, AgentError) else "internal error in the agent"


def error_message(error: BaseException) -> pb.AgentError:
    info = error_info(error)
    return pb.AgentError(reason=info.reason, message=error_text(error), cni_code=info.cni_code,
                         retryable=info.retryable)


@dataclass(frozen=True, slots=True)
class Method:
    """One API method: its gRPC path, request type and handler."""

    service: str
    name: str
    request_type: type[Message]
    handler: Callable[[Any], Message]

    @property
    def path(self) -> str:
        return f"/{PACKAGE}.{self.service}/{self.name}"


Observer = Callable[[str, float, str], None]
"""Told of every call: (method name, seconds, error reason or "" on success); e.g. the agent's metrics."""


class AgentHandlers:
    """The agent API over ``AgentService``; ``observe`` (optional) times every call."""

    def __init__(self, service: AgentService, *, observe: Observer | None = None) -> None:
        self._service = service
        self._observe = observe
        methods: tuple[Method, ...] = (
            Method("Ipam", "Allocate", pb.AllocateRequest, self.allocate),
            Method("Ipam", "Release", pb.ReleaseRequest, self.release),
            Method("PodNetwork", "Add", pb.PodNetworkRequest, self.add),
            Method("PodNetwork", "Del", pb.PodNetworkRequest, self.delete),
            Method("PodNetwork", "Check", pb.PodNetworkRequest, self.check),
            Method("Introspection", "ListAllocations", pb.ListAllocationsRequest, self.list_allocations),
            Method("Introspection", "GetPool", pb.GetPoolRequest, self.get_pool),
        )
        if observe is not None:
            methods = tuple(dataclasses.replace(m, handler=_observed(m, observe)) for m in methods)
        self.methods: dict[str, Method] = {m.path: m for m in methods}

    @property
    def service(self) -> AgentService:
        return self._service

    def call(self, method: str, operation: Callable[[], _T]) -> _T:
        """``operation`` (a call of ``service``), timed and reported as the API method named ``method`` ("Add")."""
        return operation() if self._observe is None else _timed(self._observe, method, operation)

    def allocations(self) -> list[Allocation | DirectAllocation]:
        """Every allocation of the node: shared-ENI IPs and exclusive ENIs."""
        held: list[Allocation | DirectAllocation] = [*self._service.ledger.allocations()]
        direct = self._service.direct
        if direct is not None:
            held += direct.ledger.allocations()
        return held

    def allocate(self, request: pb.AllocateRequest) -> pb.AllocateReply:
        result = self._service.allocate(_key(request.key), _pod(request.pod))
        return pb.AllocateReply(
            allocation=_allocation(result.allocation),
            ip=_ip_config(str(result.address), str(result.gateway), [str(r) for r in result.routes]),
        )

    def release(self, request: pb.ReleaseRequest) -> pb.ReleaseReply:
        released = self._service.release(_key(request.key))
        return pb.ReleaseReply(released_ip="" if released is None else str(released.ip))

    def add(self, request: pb.PodNetworkRequest) -> pb.AddReply:
        result = self._service.add(_pod_request(request))
        ifs = result.interfaces
        return pb.AddReply(
            allocation=_allocation(result.allocation),
            host=pb.Interface(name=ifs.host_ifname, mac=ifs.host_mac),
            container=pb.Interface(name=ifs.container_ifname, mac=ifs.container_mac, sandbox=result.netns),
            ip=_ip_config(str(result.address), str(result.gateway), [str(r) for r in result.routes]),
        )

    def delete(self, request: pb.PodNetworkRequest) -> pb.DelReply:
        released = self._service.delete(_pod_request(request, netns_required=False))
        return pb.DelReply(released_ip="" if released is None else str(released.ip))

    def check(self, request: pb.PodNetworkRequest) -> pb.CheckReply:
        self._service.check(_pod_request(request))
        return pb.CheckReply()

    def list_allocations(self, request: pb.ListAllocationsRequest) -> pb.ListAllocationsReply:
        return pb.ListAllocationsReply(allocations=[_allocation(a) for a in self.allocations()])

    def get_pool(self, request: pb.GetPoolRequest) -> pb.GetPoolReply:
        ledger = self._service.ledger
        in_use, cooling, promised = ledger.in_use(), ledger.cooling(), ledger.promised()
        reply = pb.GetPoolReply(in_use=len(in_use))
        for eni in self._service.pool().enis:
            out = reply.enis.add(eni_id=eni.eni_id, mac=eni.mac, subnet_cidr=str(eni.subnet), gateway=str(eni.gateway))
            for ip, state in sorted(eni.ips.items()):
                shown = state.value
                if ip in in_use:
                    shown = "InUse"
                elif ip in promised:
                    shown = "Promised"
                elif ip in cooling:
                    shown = "Cooling"
                elif state is IpState.BOUND and eni.shared and ip != eni.primary_ip:
                    reply.free += 1
                out.ips.add(ip=str(ip), state=shown)
        direct = self._service.direct
        if direct is not None:
            _add_direct_enis(reply, direct.pool().enis, in_use=direct.ledger.in_use(),
                             promised=direct.ledger.promised(), present=direct.present())
        return reply


def _observed(method: Method, observe: Observer) -> Callable[[Any], Message]:
    inner, name = method.handler, method.name
    return lambda request: _timed(observe, name, lambda: inner(request))


def _timed(observe: Observer, name: str, operation: Callable[[], _T]) -> _T:
    started = time.perf_counter()
    try:
        result = operation()
    except Exception as e:
        observe(name, time.perf_counter() - started, error_info(e).reason)
        raise
    observe(name, time.perf_counter() - started, "")
    return result


def _key(key: pb.AttachmentKey) -> AttachmentKey:
    return AttachmentKey(network_name=key.network_name, container_id=key.container_id, ifname=key.ifname)


def _pod(pod: pb.PodRef) -> PodRef:
    return PodRef(namespace=pod.namespace, name=pod.name, uid=pod.uid)


def _pod_request(request: pb.PodNetworkRequest, *, netns_required: bool = True) -> PodRequest:
    if netns_required and not request.netns:
        raise InvalidRequestError("netns is required")
    return PodRequest(key=_key(request.key), pod=_pod(request.pod), netns=request.netns, mtu=request.mtu)


def _add_direct_enis(reply: pb.GetPoolReply, enis: Iterable[DirectEni], *, in_use: Collection[str],
                     promised: Collection[str], present: Collection[str]) -> None:
    """Each exclusive ENI with its primary IP in one of the states ``DIRECT_STATES`` (how tools tell them apart)."""
    for eni in enis:
        if eni.eni_id in in_use:
            shown = DIRECT_IN_USE
        elif eni.eni_id in promised:
            shown = DIRECT_PROMISED
        elif eni.releasing:
            shown = DIRECT_RELEASING
        elif eni.mac not in present:
            shown = DIRECT_ABSENT
        else:
            shown = DIRECT_FREE
        out = reply.enis.add(eni_id=eni.eni_id, mac=eni.mac, subnet_cidr=str(eni.subnet), gateway=str(eni.gateway))
        out.ips.add(ip=str(eni.primary_ip), state=shown)


def _allocation(a: Allocation | DirectAllocation) -> pb.Allocation:
    return pb.Allocation(
        key=pb.AttachmentKey(network_name=a.key.network_name, container_id=a.key.container_id, ifname=a.key.ifname),
        pod=pb.PodRef(namespace=a.pod.namespace, name=a.pod.name, uid=a.pod.uid),
        ip=str(a.ip),
        eni_mac=a.eni_mac,
        eni_id=a.eni_id,
        allocated_at=a.allocated_at,
        kind="direct" if isinstance(a, DirectAllocation) else "shared",
    )


def _ip_config(address: str, gateway: str, routes: list[str]) -> pb.IpConfig:
    return pb.IpConfig(address=address, gateway=gateway, routes=[pb.Route(dst=r) for r in routes])
