"""Request-parameter checking with the real service's error codes.

Each action declares ``{name: Kind}`` and which names are required; ``check_params`` rejects unknown
names (``UnknownParameter``), missing ones (``MissingParameter``) and wrong JSON types
(``InvalidParameter``) before the action sees anything, so actions work on well-typed values only.
Never mutates its input.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:
    from .state import CallContext, CloudState


class Kind(enum.Enum):
    STR = "String"
    INT = "Integer"
    BOOL = "Boolean"
    STRS = "Array of String"
    FILTERS = "Array of Filter"
    TAGS = "Array of Tag"
    IP_SPECS = "Array of PrivateIpAddressSpecification"
    OBJECT = "Object"
    # Offset/Limit that some actions (DescribeSubnets, DescribeSecurityGroups) declare as String.
    NUMERIC_STR = "String (numeric)"


def check_params(
    params: Mapping[str, Any], spec: Mapping[str, Kind], *, required: tuple[str, ...] = ()
) -> None:
    """Raise ApiError unless ``params`` has only the names in ``spec``, each of the right type."""
    for name in params:
        if name not in spec:
            raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")
    for name in required:
        if name not in params or params[name] is None:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    for name, value in params.items():
        if value is not None and not _fits(value, spec[name]):
            raise ApiError(
                "InvalidParameter", f"The parameter `{name}` must be of type {spec[name].value}."
            )


def _fits(value: object, kind: Kind) -> bool:
    if kind is Kind.STR:
        return isinstance(value, str)
    if kind is Kind.INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is Kind.BOOL:
        return isinstance(value, bool)
    if kind is Kind.NUMERIC_STR:
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())
    if kind is Kind.OBJECT:
        return isinstance(value, dict)
    if not isinstance(value, list):
        return False
    if kind is Kind.STRS:
        return all(isinstance(v, str) for v in value)
    if kind is Kind.FILTERS:
        return all(_is_filter(v) for v in value)
    if kind is Kind.TAGS:
        return all(isinstance(v, dict) and isinstance(v.get("Key"), str) and isinstance(v.get("Value", ""), str)
                   for v in value)
    return all(isinstance(v, dict) and isinstance(v.get("PrivateIpAddress"), str) for v in value)


def _is_filter(value: object) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("Name"), str):
        return False
    values = value.get("Values")
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def page(params: Mapping[str, Any], *, default_limit: int = 20, max_limit: int = 100) -> tuple[int, int]:
    """Offset and Limit of a describe call, validated like the real service."""
    offset = int(params.get("Offset") or 0)
    limit_raw = params.get("Limit")
    limit = default_limit if limit_raw is None else int(limit_raw)
    if offset < 0:
        raise ApiError("InvalidParameterValue.Range", "Offset must not be negative.")
    if limit < 0 or limit > max_limit:
        raise ApiError("InvalidParameterValue.Range", f"Limit must be between 0 and {max_limit}.")
    return offset, limit


def filter_map(
    params: Mapping[str, Any], known: tuple[str, ...], *, prefixes: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Filters as name -> values; unknown names get ``InvalidParameter.FilterInvalidKey``."""
    result: dict[str, list[str]] = {}
    for flt in params.get("Filters") or ():
        name = flt["Name"]
        if name not in known and not any(name.startswith(p) for p in prefixes):
            raise ApiError("InvalidParameter.FilterInvalidKey", f"The filter name `{name}` is not supported.")
        result.setdefault(name, []).extend(flt["Values"])
    return result


def ids_xor_filters(params: Mapping[str, Any], ids_param: str) -> None:
    """The real describe calls refuse ids and Filters together."""
    if params.get(ids_param) and params.get("Filters"):
        raise ApiError("InvalidParameter.Coexist", f"The parameters `{ids_param}` and `Filters` cannot coexist.")


ActionHandler = Callable[["CloudState", dict[str, Any], "CallContext"], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One API action: its service, its parameters and how the dispatcher treats it."""

    name: str
    service: str  # "vpc" or "cvm", from the credential scope
    params: Mapping[str, Kind]
    handler: ActionHandler
    required: tuple[str, ...] = ()
    # The reply carries a ClientToken-protected allocation: same token, same reply.
    idempotent: bool = False
    # The request id doubles as the DescribeVpcTaskResult task id.
    vpc_task: bool = False


def tags_param(params: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in params.get("Tags") or ():
        if tag["Key"] in tags:
            raise ApiError("InvalidParameterValue.TagDuplicateKey", f"The tag key `{tag['Key']}` is repeated.")
        tags[tag["Key"]] = tag.get("Value", "")
    return tags


def client_token(params: Mapping[str, Any]) -> str:
    token = params.get("ClientToken") or ""
    assert isinstance(token, str)
    if len(token) > 64 or not token.isascii():
        raise ApiError("InvalidParameterValue.TooLong", "ClientToken must be at most 64 ASCII characters.")
    return token
