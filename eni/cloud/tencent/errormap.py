"""The one table from Tencent Cloud error codes to ``eni.cloud.errors`` classes.

Tencent codes are dotted (``LimitExceeded.EniPrivateIpLimit``). ``error_class`` looks for the exact
code first, then for the longest listed prefix ending at a dot (``LimitExceeded.`` covers every
sub-code not listed on its own), then for a known suffix (``.NotFound``), then falls back to
``CloudError``: an unknown code is never retried.
The SDK's own client-side codes (``ClientNetworkError``, ``ServerNetworkError``...) are in the table
too, since the SDK raises them for timeouts, refused connections and non-200 replies.

This module only classifies; it never calls the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from eni.cloud.errors import (
    AuthFailed,
    Busy,
    CloudError,
    CloudUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    SubnetExhausted,
    TaskFailed,
    Throttled,
)

__all__ = ["ERROR_CODES", "PREFIX_CODES", "SUFFIX_CODES", "error_class", "to_cloud_error"]

ERROR_CODES: Mapping[str, type[CloudError]] = MappingProxyType(
    {
        # throttling
        "RequestLimitExceeded": Throttled,
        "RequestLimitExceeded.UinLimitExceeded": Throttled,
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded": Throttled,
        "LimitExceeded.ActionLimited": Throttled,
        # another task holds the resource
        "UnsupportedOperation.MutexOperationTaskRunning": Busy,
        "OperationDenied.MutexTaskRunning": Busy,
        "FailedOperation.MutexOperationTaskRunning": Busy,
        # quotas
        "LimitExceeded": QuotaExceeded,
        "LimitExceeded.NetworkInterfaceLimitExceeded": QuotaExceeded,
        "LimitExceeded.EniPrivateIpLimit": QuotaExceeded,
        "LimitExceeded.AddressQuotaLimitExceeded": QuotaExceeded,
        "AddressQuotaLimitExceeded": QuotaExceeded,
        "AddressQuotaLimitExceeded.DailyAllocate": QuotaExceeded,
        "ResourceInsufficient": QuotaExceeded,
        "ResourceInsufficient.Instance": QuotaExceeded,
        # the subnet is out of addresses
        "ResourceInsufficient.Subnet": SubnetExhausted,
        "ResourceInsufficient.CidrBlock": SubnetExhausted,
        # unknown ids
        "ResourceNotFound": NotFound,
        "InvalidNetworkInterfaceId.NotFound": NotFound,
        "InvalidAddressId.NotFound": NotFound,
        "InvalidInstanceId.NotFound": NotFound,
        "InvalidSubnetId.NotFound": NotFound,
        "InvalidVpcId.NotFound": NotFound,
        "InvalidSecurityGroupId.NotFound": NotFound,
        "InvalidSecurityGroupID.NotFound": NotFound,
        # state conflicts
        "UnsupportedOperation.AttachmentAlreadyExists": Conflict,
        "UnsupportedOperation.AttachmentNotFound": Conflict,
        "UnsupportedOperation.ZoneMismatch": Conflict,
        "UnsupportedOperation.InvalidState": Conflict,
        "UnsupportedOperation.InvalidAddressState": Conflict,
        "UnsupportedOperation.InvalidInstanceState": Conflict,
        "UnsupportedOperation.AddressStatusNotPermit": Conflict,
        "ResourceInUse": Conflict,
        "ResourceInUse.Address": Conflict,
        "InvalidAddressState": Conflict,
        "InvalidAddressIdStatus.NotPermit": Conflict,
        "InvalidPrivateIpAddress.AlreadyBindEip": Conflict,
        "InvalidInstanceId.AlreadyBindEip": Conflict,
        "UnauthorizedOperation.PrimaryIp": Conflict,
        # malformed or impossible requests
        "InvalidParameter": InvalidRequest,
        "InvalidParameterValue": InvalidRequest,
        "MissingParameter": InvalidRequest,
        "UnknownParameter": InvalidRequest,
        "InvalidAction": InvalidRequest,
        "InvalidParameterConflict": InvalidRequest,
        "UnsupportedProtocol": InvalidRequest,
        "UnsupportedRegion": InvalidRequest,
        "NoSuchVersion": InvalidRequest,
        "UnsupportedOperation": InvalidRequest,
        "InvalidFilter": InvalidRequest,
        "InvalidInstanceId.Malformed": InvalidRequest,
        "ResourceUnavailable.ServiceWhiteListNotAdded": InvalidRequest,
        "ClientError": InvalidRequest,
        "ClientParamsError": InvalidRequest,
        # authentication and authorisation
        "AuthFailure": AuthFailed,
        "UnauthorizedOperation": AuthFailed,
        # the service itself is failing or unreachable
        "InternalError": CloudUnavailable,
        "InternalServerError": CloudUnavailable,
        "ResourceUnavailable": CloudUnavailable,
        "ServiceUnavailable": CloudUnavailable,
        "ClientNetworkError": CloudUnavailable,
        "ServerNetworkError": CloudUnavailable,
        # asynchronous tasks
        "FailedOperation.TaskFailed": TaskFailed,
        # a business rule refused the operation; nothing more specific is known
        "FailedOperation": CloudError,
        "OperationDenied": CloudError,
    }
)
"""Exact codes. A code listed here also covers its dotted sub-codes unless they are listed themselves."""

SUFFIX_CODES: Mapping[str, type[CloudError]] = MappingProxyType(
    {".NotFound": NotFound, ".Malformed": InvalidRequest, ".Duplicate": InvalidRequest}
)
"""Sub-codes of id families not listed above (``InvalidSecurityGroupID.NotFound``...)."""

PREFIX_CODES: tuple[str, ...] = tuple(sorted(ERROR_CODES, key=len, reverse=True))
"""Codes to try as prefixes, longest first."""


def error_class(code: str) -> type[CloudError]:
    """The error class for a Tencent error code.

    >>> error_class("LimitExceeded.EniPrivateIpLimit").__name__
    'QuotaExceeded'
    >>> error_class("AuthFailure.SignatureFailure").__name__
    'AuthFailed'
    >>> error_class("NeverHeardOf").__name__
    'CloudError'
    """
    exact = ERROR_CODES.get(code)
    if exact is not None:
        return exact
    for prefix in PREFIX_CODES:
        if code.startswith(prefix + "."):
            return ERROR_CODES[prefix]
    for suffix, cls in SUFFIX_CODES.items():
        if code.endswith(suffix):
            return cls
    # The SDK builds codes like "InvalidParameterValue.Foo" but also bare "InvalidParameterXyz".
    if code.startswith(("InvalidParameter", "MissingParameter")):
        return InvalidRequest
    return CloudError


def to_cloud_error(code: str, message: str, request_id: str | None) -> CloudError:
    """Build the typed error for a Tencent error reply."""
    cls = error_class(code)
    if cls is TaskFailed:
        return TaskFailed(code, message, request_id, output=message)
    return cls(code, message, request_id)
