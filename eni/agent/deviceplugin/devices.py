"""The device-list maths: how "capacity N, M of them usable" becomes the list the kubelet sees.

The kubelet derives a node's extended resource capacity from the number of devices a plugin lists and its
allocatable from the number of ``Healthy`` ones. A resource such as eni-ip is a count, not hardware, so a
plugin with capacity ``N`` and ``M`` usable units lists ``N`` synthetic devices ``<prefix>-0`` …
``<prefix>-(N-1)``, of which the first ``M`` are Healthy. Ids are stable: growing or shrinking the counts
never renames a device, which keeps the kubelet's record of which pod holds which device meaningful.

Everything here is pure and never touches gRPC, so it is unit-tested with tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import InvalidDeviceCountsError, InvalidDeviceRequestError
from .protocol import HEALTHY, UNHEALTHY

MAX_DEVICES = 4096
"""Upper bound on the devices one plugin lists; far above any instance's IP quota, and bounds message size."""

_INDEX = re.compile(r"^(0|[1-9][0-9]{0,5})$")


@dataclass(frozen=True, slots=True)
class DeviceCounts:
    """How many devices a plugin lists (``capacity``) and how many of them are usable (``healthy``)."""

    capacity: int
    healthy: int

    def __post_init__(self) -> None:
        for field, value in (("capacity", self.capacity), ("healthy", self.healthy)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidDeviceCountsError(f"{field} must be an int, got {value!r}")
        if not 0 <= self.capacity <= MAX_DEVICES:
            raise InvalidDeviceCountsError(f"capacity must be within 0..{MAX_DEVICES}, got {self.capacity}")
        if not 0 <= self.healthy <= self.capacity:
            raise InvalidDeviceCountsError(
                f"healthy must be within 0..capacity ({self.capacity}), got {self.healthy}"
            )

    @classmethod
    def clamped(cls, *, capacity: int, healthy: int) -> DeviceCounts:
        """Counts forced into range, for sources that may briefly disagree (more IPs bound than the new limit).

        >>> DeviceCounts.clamped(capacity=10, healthy=12)
        DeviceCounts(capacity=10, healthy=10)
        >>> DeviceCounts.clamped(capacity=-1, healthy=3)
        DeviceCounts(capacity=0, healthy=0)
        """
        bounded = min(max(capacity, 0), MAX_DEVICES)
        return cls(capacity=bounded, healthy=min(max(healthy, 0), bounded))


@dataclass(frozen=True, slots=True)
class AdvertisedDevice:
    """One entry of a ListAndWatch response."""

    id: str
    health: str


def device_id(prefix: str, index: int) -> str:
    """The id of the device at ``index``.

    >>> device_id("eni-ip", 7)
    'eni-ip-7'
    """
    return f"{prefix}-{index}"


def parse_device_index(prefix: str, candidate: str) -> int | None:
    """The index encoded in ``candidate``, or None when it is not one of this prefix's ids.

    >>> parse_device_index("eni-ip", "eni-ip-12"), parse_device_index("eni-ip", "eni-ip-012")
    (12, None)
    >>> parse_device_index("eni-ip", "eip-1")
    """
    head = prefix + "-"
    if not candidate.startswith(head):
        return None
    digits = candidate[len(head) :]
    return int(digits) if _INDEX.match(digits) else None


def advertised_devices(prefix: str, counts: DeviceCounts) -> tuple[AdvertisedDevice, ...]:
    """The full device list for ``counts``: ``capacity`` devices, the first ``healthy`` of them Healthy."""
    return tuple(
        AdvertisedDevice(id=device_id(prefix, i), health=HEALTHY if i < counts.healthy else UNHEALTHY)
        for i in range(counts.capacity)
    )


def check_device_ids(prefix: str, counts: DeviceCounts, ids: Sequence[str], *, require_healthy: bool) -> None:
    """Raise InvalidDeviceRequestError unless ``ids`` are distinct devices this plugin lists now.

    With ``require_healthy`` the devices must also be Healthy: the kubelet only hands out healthy devices, so an
    unhealthy one means the pool shrank after it chose, and the request must fail rather than overcommit.
    """
    if not ids:
        raise InvalidDeviceRequestError("the request names no device")
    seen: set[str] = set()
    for candidate in ids:
        index = parse_device_index(prefix, candidate)
        if index is None or index >= counts.capacity:
            raise InvalidDeviceRequestError(f"unknown device id {candidate[:80]!r}")
        if candidate in seen:
            raise InvalidDeviceRequestError(f"device id {candidate!r} named twice")
        if require_healthy and index >= counts.healthy:
            raise InvalidDeviceRequestError(f"device {candidate!r} is not usable now ({counts.healthy} of "
                                            f"{counts.capacity} devices are)")
        seen.add(candidate)


def preferred_allocation(
    prefix: str, counts: DeviceCounts, *, available: Iterable[str], must_include: Sequence[str], size: int
) -> list[str]:
    """Pick ``size`` devices: every one of ``must_include``, then the lowest-index healthy available ones.

    Any device serves as well as another here; preferring low indices keeps the Healthy prefix in use, so a
    shrinking pool marks idle devices Unhealthy first. Returns fewer than ``size`` ids when there are not
    enough; the kubelet then decides on its own.
    """
    if size < 0 or size > MAX_DEVICES:
        raise InvalidDeviceRequestError(f"allocation size must be within 0..{MAX_DEVICES}, got {size}")
    if len(must_include) > size:
        raise InvalidDeviceRequestError(f"{len(must_include)} devices must be included in an allocation of {size}")
    if must_include:
        check_device_ids(prefix, counts, must_include, require_healthy=False)
    chosen = list(must_include)
    candidates: list[tuple[int, str]] = []
    for candidate in set(available) - set(must_include):
        index = parse_device_index(prefix, candidate)
        if index is not None and index < counts.healthy:
            candidates.append((index, candidate))
    chosen.extend(candidate for _, candidate in sorted(candidates)[: size - len(chosen)])
    return chosen
