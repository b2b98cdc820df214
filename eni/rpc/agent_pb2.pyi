from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    POOL_EXHAUSTED: _ClassVar[ErrorReason]
    UNKNOWN_CONTAINER: _ClassVar[ErrorReason]
    INVALID_REQUEST: _ClassVar[ErrorReason]
    NETWORK_FAILED: _ClassVar[ErrorReason]
    CHECK_FAILED: _ClassVar[ErrorReason]
    UNAVAILABLE: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
POOL_EXHAUSTED: ErrorReason
UNKNOWN_CONTAINER: ErrorReason
INVALID_REQUEST: ErrorReason
NETWORK_FAILED: ErrorReason
CHECK_FAILED: ErrorReason
UNAVAILABLE: ErrorReason
INTERNAL: ErrorReason

class AgentError(_message.Message):
    __slots__ = ("reason", "message", "cni_code", "retryable")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CNI_CODE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    reason: ErrorReason
    message: str
    cni_code: int
    retryable: bool
    def __init__(self, reason: _Optional[_Union[ErrorReason, str]] = ..., message: _Optional[str] = ..., cni_code: _Optional[int] = ..., retryable: _Optional[bool] = ...) -> None: ...

class AttachmentKey(_message.Message):
    __slots__ = ("network_name", "container_id", "ifname")
    NETWORK_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    IFNAME_FIELD_NUMBER: _ClassVar[int]
    network_name: str
    container_id: str
    ifname: str
    def __init__(self, network_name: _Optional[str] = ..., container_id: _Optional[str] = ..., ifname: _Optional[str] = ...) -> None: ...

class PodRef(_message.Message):
    __slots__ = ("namespace", "name", "uid")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    uid: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("dst", "gw")
    DST_FIELD_NUMBER: _ClassVar[int]
    GW_FIELD_NUMBER: _ClassVar[int]
    dst: str
    gw: str
    def __init__(self, dst: _Optional[str] = ..., gw: _Optional[str] = ...) -> None: ...

class IpConfig(_message.Message):
    __slots__ = ("address", "gateway", "routes")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    address: str
    gateway: str
    routes: _containers.RepeatedCompositeFieldContainer[Route]
    def __init__(self, address: _Optional[str] = ..., gateway: _Optional[str] = ..., routes: _Optional[_Iterable[_Union[Route, _Mapping]]] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("key", "pod", "ip", "eni_mac", "eni_id", "allocated_at", "kind")
    KEY_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    ENI_MAC_FIELD_NUMBER: _ClassVar[int]
    ENI_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    key: AttachmentKey
    pod: PodRef
    ip: str
    eni_mac: str
    eni_id: str
    allocated_at: float
    kind: str
    def __init__(self, key: _Optional[_Union[AttachmentKey, _Mapping]] = ..., pod: _Optional[_Union[PodRef, _Mapping]] = ..., ip: _Optional[str] = ..., eni_mac: _Optional[str] = ..., eni_id: _Optional[str] = ..., allocated_at: _Optional[float] = ..., kind: _Optional[str] = ...) -> None: ...

class Interface(_message.Message):
    __slots__ = ("name", "mac", "sandbox")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    name: str
    mac: str
    sandbox: str
    def __init__(self, name: _Optional[str] = ..., mac: _Optional[str] = ..., sandbox: _Optional[str] = ...) -> None: ...

class AllocateRequest(_message.Message):
    __slots__ = ("key", "pod")
    KEY_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    key: AttachmentKey
    pod: PodRef
    def __init__(self, key: _Optional[_Union[AttachmentKey, _Mapping]] = ..., pod: _Optional[_Union[PodRef, _Mapping]] = ...) -> None: ...

class AllocateReply(_message.Message):
    __slots__ = ("allocation", "ip")
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    allocation: Allocation
    ip: IpConfig
    def __init__(self, allocation: _Optional[_Union[Allocation, _Mapping]] = ..., ip: _Optional[_Union[IpConfig, _Mapping]] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: AttachmentKey
    def __init__(self, key: _Optional[_Union[AttachmentKey, _Mapping]] = ...) -> None: ...

class ReleaseReply(_message.Message):
    __slots__ = ("released_ip",)
    RELEASED_IP_FIELD_NUMBER: _ClassVar[int]
    released_ip: str
    def __init__(self, released_ip: _Optional[str] = ...) -> None: ...

class PodNetworkRequest(_message.Message):
    __slots__ = ("key", "pod", "netns", "mtu")
    KEY_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    NETNS_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    key: AttachmentKey
    pod: PodRef
    netns: str
    mtu: int
    def __init__(self, key: _Optional[_Union[AttachmentKey, _Mapping]] = ..., pod: _Optional[_Union[PodRef, _Mapping]] = ..., netns: _Optional[str] = ..., mtu: _Optional[int] = ...) -> None: ...

class AddReply(_message.Message):
    __slots__ = ("allocation", "host", "container", "ip")
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    allocation: Allocation
    host: Interface
    container: Interface
    ip: IpConfig
    def __init__(self, allocation: _Optional[_Union[Allocation, _Mapping]] = ..., host: _Optional[_Union[Interface, _Mapping]] = ..., container: _Optional[_Union[Interface, _Mapping]] = ..., ip: _Optional[_Union[IpConfig, _Mapping]] = ...) -> None: ...

class DelReply(_message.Message):
    __slots__ = ("released_ip",)
    RELEASED_IP_FIELD_NUMBER: _ClassVar[int]
    released_ip: str
    def __init__(self, released_ip: _Optional[str] = ...) -> None: ...

class CheckReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAllocationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAllocationsReply(_message.Message):
    __slots__ = ("allocations",)
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ...) -> None: ...

class GetPoolRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PoolIp(_message.Message):
    __slots__ = ("ip", "state")
    IP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ip: str
    state: str
    def __init__(self, ip: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class PoolEni(_message.Message):
    __slots__ = ("eni_id", "mac", "subnet_cidr", "gateway", "ips")
    ENI_ID_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    SUBNET_CIDR_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    IPS_FIELD_NUMBER: _ClassVar[int]
    eni_id: str
    mac: str
    subnet_cidr: str
    gateway: str
    ips: _containers.RepeatedCompositeFieldContainer[PoolIp]
    def __init__(self, eni_id: _Optional[str] = ..., mac: _Optional[str] = ..., subnet_cidr: _Optional[str] = ..., gateway: _Optional[str] = ..., ips: _Optional[_Iterable[_Union[PoolIp, _Mapping]]] = ...) -> None: ...

class GetPoolReply(_message.Message):
    __slots__ = ("enis", "free", "in_use")
    ENIS_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    IN_USE_FIELD_NUMBER: _ClassVar[int]
    enis: _containers.RepeatedCompositeFieldContainer[PoolEni]
    free: int
    in_use: int
    def __init__(self, enis: _Optional[_Iterable[_Union[PoolEni, _Mapping]]] = ..., free: _Optional[int] = ..., in_use: _Optional[int] = ...) -> None: ...
