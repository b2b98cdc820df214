"""Continue tokens of paginated lists: the list's resourceVersion and the last key returned.

Opaque to clients (URL-safe base64 of JSON). A token that does not decode is a 400, as on the
real server. Pure functions.
"""

from __future__ import annotations

import base64
import binascii
import json

from . import errors

Key = tuple[str, str]  # (namespace, name)


def encode_continue(rv: int, key: Key) -> str:
    """
    >>> decode_continue(encode_continue(7, ("default", "web")))
    (7, ('default', 'web'))
    """
    raw = json.dumps({"rv": rv, "ns": key[0], "name": key[1]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, Key]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as e:
        raise errors.bad_request(f"continue key is not valid: {e}") from e
