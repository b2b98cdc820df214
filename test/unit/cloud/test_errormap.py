"""The Tencent error-code table: every code the project knows maps to the intended typed error."""

from __future__ import annotations

import pytest

from eni.cloud import errors
from eni.cloud.tencent.errormap import ERROR_CODES, error_class, to_cloud_error

# Codes named in PRODUCT.md plus the families the brief lists, with the class each must become.
EXPECTED = [
    ("RequestLimitExceeded", errors.Throttled),
    ("LimitExceeded.ActionLimited", errors.Throttled),
    ("RequestLimitExceeded.UinLimitExceeded", errors.Throttled),
    ("ResourceInsufficient.Subnet", errors.SubnetExhausted),
    ("LimitExceeded", errors.QuotaExceeded),
    ("LimitExceeded.NetworkInterfaceLimitExceeded", errors.QuotaExceeded),
    ("LimitExceeded.EniPrivateIpLimit", errors.QuotaExceeded),
    ("LimitExceeded.SomethingNew", errors.QuotaExceeded),
    ("AddressQuotaLimitExceeded", errors.QuotaExceeded),
    ("UnsupportedOperation.MutexOperationTaskRunning", errors.Busy),
    ("UnsupportedOperation.AttachmentAlreadyExists", errors.Conflict),
    ("UnsupportedOperation.AttachmentNotFound", errors.Conflict),
    ("UnsupportedOperation.ZoneMismatch", errors.Conflict),
    ("UnsupportedOperation.InvalidState", errors.Conflict),
    ("ResourceInUse", errors.Conflict),
    ("InvalidAddressState", errors.Conflict),
    ("InvalidPrivateIpAddress.AlreadyBindEip", errors.Conflict),
    ("UnsupportedOperation.SomethingElse", errors.InvalidRequest),
    ("ResourceNotFound", errors.NotFound),
    ("InvalidNetworkInterfaceId.NotFound", errors.NotFound),
    ("InvalidSecurityGroupID.NotFound", errors.NotFound),
    ("InvalidVpcId.NotFound", errors.NotFound),
    ("InvalidVpcId.Malformed", errors.InvalidRequest),
    ("AuthFailure", errors.AuthFailed),
    ("AuthFailure.SignatureFailure", errors.AuthFailed),
    ("AuthFailure.SecretIdNotFound", errors.AuthFailed),
    ("UnauthorizedOperation", errors.AuthFailed),
    ("InvalidParameter", errors.InvalidRequest),
    ("InvalidParameter.Coexist", errors.InvalidRequest),
    ("InvalidParameterValue.LimitExceeded", errors.InvalidRequest),
    ("InvalidParameterValue.Occupied", errors.InvalidRequest),
    ("MissingParameter", errors.InvalidRequest),
    ("UnknownParameter", errors.InvalidRequest),
    ("InvalidAction", errors.InvalidRequest),
    ("InternalError", errors.CloudUnavailable),
    ("InternalError.ModuleError", errors.CloudUnavailable),
    ("ResourceUnavailable", errors.CloudUnavailable),
    ("ClientNetworkError", errors.CloudUnavailable),
    ("ServerNetworkError", errors.CloudUnavailable),
    ("FailedOperation.TaskFailed", errors.TaskFailed),
    ("FailedOperation", errors.CloudError),
    ("FailedOperation.Whatever", errors.CloudError),
    ("TotallyUnknownCode", errors.CloudError),
]


@pytest.mark.parametrize(("code", "expected"), EXPECTED)
def test_code_maps_to_class(code: str, expected: type[errors.CloudError]) -> None:
    assert error_class(code) is expected


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_table_entry_is_reached_exactly(code: str) -> None:
    assert error_class(code) is ERROR_CODES[code]


def test_retryable_classes_are_exactly_throttled_busy_unavailable() -> None:
    retryable = {cls for _, cls in EXPECTED if cls.retryable}
    assert retryable == {errors.Throttled, errors.Busy, errors.CloudUnavailable}


def test_built_error_carries_code_message_and_request_id() -> None:
    err = to_cloud_error("ResourceInsufficient.Subnet", "no IP left", "req-9")
    assert isinstance(err, errors.SubnetExhausted)
    assert (err.code, err.message, err.request_id) == ("ResourceInsufficient.Subnet", "no IP left", "req-9")
    assert "req-9" in str(err)


def test_task_failed_keeps_output() -> None:
    err = to_cloud_error("FailedOperation.TaskFailed", "boom", None)
    assert isinstance(err, errors.TaskFailed) and err.output == "boom"


def test_partial_outcome_follows_its_cause() -> None:
    cause = errors.Throttled("RequestLimitExceeded", "slow down", "req-1")
    partial = errors.PartialOutcome(done=("10.0.0.5",), not_done=3, cause=cause)
    assert partial.retryable and partial.code == "RequestLimitExceeded" and partial.request_id == "req-1"
    quota = errors.PartialOutcome(done=("10.0.0.5",), not_done=3, cause=errors.QuotaExceeded("LimitExceeded", "x"))
    assert not quota.retryable
