"""The one exception type of the emulator: an API error with a real Tencent Cloud error code.

Actions raise ``ApiError(code, message)``; the server turns it into the error envelope
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``. Anything else raised by an action is
a bug in the emulator and becomes ``InternalError`` (and a log line), never a crash.
"""

from __future__ import annotations


class ApiError(Exception):
    """A Tencent Cloud API error: ``code`` is the exact string the real service returns."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError("ResourceNotFound", f"The specified {kind} `{resource_id}` does not exist.")


def malformed(param: str, value: object) -> ApiError:
    return ApiError("InvalidParameterValue.Malformed", f"The value `{value}` of parameter `{param}` is malformed.")
