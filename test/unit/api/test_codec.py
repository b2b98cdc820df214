"""The wire codec: naming, scalar formats, strict decoding and omit-empty encoding."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from eni.api.v1.codec import (
    camel_case,
    decode,
    encode,
    format_duration,
    format_time,
    hints,
    parse_duration,
    parse_time,
)
from eni.api.v1.enums import EniType
from eni.api.v1.errors import DecodeError


@dataclass(frozen=True, slots=True)
class Inner:
    ip: str
    state: EniType = EniType.ROUTE


@dataclass(frozen=True, slots=True)
class Sample:
    eni_id: str
    count: int = 0
    ratio: float = 0.0
    enabled: bool = False
    when: datetime | None = None
    expiry: timedelta | None = None
    tags: dict[str, str] = field(default_factory=dict)
    items: tuple[Inner, ...] = ()
    renamed: str = field(default="", metadata=hints(wire="x-custom"))


@pytest.mark.parametrize(
    ("snake", "camel"),
    [
        ("instance_id", "instanceId"),
        ("max_eni", "maxENI"),
        ("max_ip_per_eni", "maxIPPerENI"),
        ("max_direct_eni", "maxDirectENI"),
        ("primary_ip", "primaryIP"),
        ("subnet_cidr", "subnetCIDR"),
        ("in_use_ips", "inUseIPs"),
        ("pod_uid", "podUID"),
        ("eni_id", "eniId"),
        ("ip", "ip"),
        ("resource_version", "resourceVersion"),
    ],
)
def test_camel_case_keeps_kubernetes_acronyms(snake, camel):
    assert camel_case(snake) == camel


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("500ms", 0.5), ("2h0m0s", 7200)],
)
def test_parse_duration_accepts_go_notation(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "-5m", "m", "1d", "5m junk", "1h 30m"])
def test_parse_duration_rejects_other_text(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (300, "5m0s"), (5400, "1h30m0s"), (0.25, "250ms"), (1.5, "1.5s"), (86400, "24h0m0s")],
)
def test_format_duration_matches_go(seconds, text):
    assert format_duration(timedelta(seconds=seconds)) == text
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_times_are_rfc3339_utc():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_time(moment) == "2026-01-02T03:04:05Z"
    assert parse_time("2026-01-02T11:04:05+08:00") == moment
    assert format_time(moment.replace(microsecond=120000)) == "2026-01-02T03:04:05.120000Z"
    with pytest.raises(ValueError):
        parse_time("2026-01-02T03:04:05")
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 2))


def test_encode_omits_empty_values_and_round_trips():
    full = Sample(eni_id="eni-1", count=3, ratio=0.5, enabled=True,
                  when=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC),
                  expiry=timedelta(minutes=10), tags={"a": "b"}, items=(Inner(ip="10.0.0.1"),), renamed="r")
    wire = encode(full)
    assert wire == {"eniId": "eni-1", "count": 3, "ratio": 0.5, "enabled": True, "when": "2025-12-31T16:00:00Z",
                    "expiry": "10m0s", "tags": {"a": "b"}, "items": [{"ip": "10.0.0.1", "state": "route"}],
                    "x-custom": "r"}
    assert decode(Sample, wire, kind="Sample") == full
    assert encode(Sample(eni_id="eni-1")) == {"eniId": "eni-1", "count": 0, "ratio": 0.0, "enabled": False}


def test_decode_ignores_unknown_keys_and_nulls():
    assert decode(Sample, {"eniId": "e", "future": 1, "when": None}, kind="Sample") == Sample(eni_id="e")


@pytest.mark.parametrize(
    ("wire", "path", "problem"),
    [
        ({}, "eniId", "required field is missing"),
        ({"eniId": 5}, "eniId", "expected a string, got an integer"),
        ({"eniId": "e", "count": "5"}, "count", "expected an integer, got a string"),
        ({"eniId": "e", "count": True}, "count", "expected an integer, got a boolean"),
        ({"eniId": "e", "enabled": "true"}, "enabled", "expected a boolean"),
        ({"eniId": "e", "ratio": "1"}, "ratio", "expected a number"),
        ({"eniId": "e", "when": "yesterday"}, "when", "yesterday"),
        ({"eniId": "e", "expiry": "soon"}, "expiry", "not a duration"),
        ({"eniId": "e", "tags": []}, "tags", "expected an object, got a list"),
        ({"eniId": "e", "tags": {"a": 1}}, "tags.a", "expected a string"),
        ({"eniId": "e", "items": {}}, "items", "expected a list"),
        ({"eniId": "e", "items": [{"ip": "1.1.1.1"}, {}]}, "items[1].ip", "required field is missing"),
        ({"eniId": "e", "items": [{"ip": "1.1.1.1", "state": "shared"}]}, "items[0].state",
         "'shared' is not one of route, direct"),
    ],
)
def test_decode_names_the_bad_field(wire, path, problem):
    with pytest.raises(DecodeError) as caught:
        decode(Sample, wire, kind="Sample")
    assert caught.value.path == path
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"Sample {path}: ")


def test_decode_refuses_a_non_object():
    with pytest.raises(DecodeError, match="expected an object, got a list"):
        decode(Sample, [], kind="Sample")
