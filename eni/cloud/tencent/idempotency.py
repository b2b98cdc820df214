"""ClientTokens derived from the caller's intent, so a retry after a crash cannot allocate twice.

Tencent makes Create/Assign/Allocate idempotent by ``ClientToken`` (at most 64 ASCII characters): a
second request with a token the service has seen returns the first request's result. The token here is
a hash of the cluster id, the action, the resource it acts on, the caller's intent and the batch
number, so the same intent computed again by a restarted process yields the same token, and two
clusters or two intents never share one.

Nothing here talks to the cloud or keeps state.
"""

from __future__ import annotations

import hashlib

__all__ = ["TOKEN_PREFIX", "client_token", "validate_intent"]

TOKEN_PREFIX = "tke-eni-"
_MAX_TOKEN = 64
_MAX_INTENT = 512


def validate_intent(intent: str) -> None:
    """Raise ``ValueError`` unless ``intent`` is a non-empty printable string of sane length."""
    if not intent or len(intent) > _MAX_INTENT or not intent.isprintable():
        raise ValueError(f"intent must be 1..{_MAX_INTENT} printable characters, got {intent!r}")


def client_token(*, cluster_id: str, action: str, intent: str, scope: str = "", part: int = 0) -> str:
    """The ClientToken for one request of an intent.

    ``scope`` names the resource acted on (an ENI id); ``part`` numbers the batches of a split request.

    >>> t = client_token(cluster_id="cls-1", action="AssignPrivateIpAddresses", intent="node-a/warm-1")
    >>> len(t) <= 64 and t.isascii() and t == client_token(
    ...     cluster_id="cls-1", action="AssignPrivateIpAddresses", intent="node-a/warm-1")
    True
    """
    validate_intent(intent)
    if part < 0:
        raise ValueError(f"part must not be negative, got {part}")
    material = "\x00".join((cluster_id, action, scope, intent, str(part))).encode()
    digest = hashlib.sha256(material).hexdigest()
    return (TOKEN_PREFIX + digest)[:_MAX_TOKEN]
