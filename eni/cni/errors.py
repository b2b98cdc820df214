"""CNI errors and the spec's well-known error codes (CNI spec 1.0.0, "Error" section).

Must never: import anything outside the standard library (this runs under the host's python3, >= 3.8).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict

INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
INTERNAL = 999


class CniError(Exception):
    """A failure the plugin reports as the CNI error JSON ``{"cniVersion","code","msg","details"}``."""

    reply = b""
    """The agent's raw answer, when the failure is that it could not be understood."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, cni_version: str) -> Dict[str, Any]:
        return {"cniVersion": cni_version, "code": self.code, "msg": self.msg, "details": self.details}
