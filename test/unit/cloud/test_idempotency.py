"""ClientToken derivation: stable per intent, distinct across everything that should differ."""

from __future__ import annotations

import pytest

from eni.cloud.tencent.idempotency import client_token


def _token(**kw) -> str:
    args = {"cluster_id": "cls-1", "action": "AssignPrivateIpAddresses", "intent": "node-a/warm", "scope": "eni-1"}
    args.update(kw)
    return client_token(**args)


def test_same_intent_same_token_within_api_limits() -> None:
    token = _token()
    assert token == _token()
    assert len(token) <= 64 and token.isascii() and token.isprintable()


@pytest.mark.parametrize(
    "change",
    [{"cluster_id": "cls-2"}, {"action": "CreateNetworkInterface"}, {"intent": "node-a/warm2"},
     {"scope": "eni-2"}, {"part": 1}],
)
def test_token_differs_when_anything_differs(change) -> None:
    assert _token(**change) != _token()


def test_no_ambiguity_from_concatenation() -> None:
    assert _token(scope="eni-1a", intent="b") != _token(scope="eni-1", intent="ab")


@pytest.mark.parametrize("intent", ["", "x" * 513, "line\nbreak"])
def test_bad_intent_is_refused(intent) -> None:
    with pytest.raises(ValueError):
        _token(intent=intent)


def test_negative_part_is_refused() -> None:
    with pytest.raises(ValueError):
        _token(part=-1)
