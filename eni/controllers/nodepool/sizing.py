"""How many IPs a node's pool should gain or give back right now (PRODUCT.md "Modes", non-static).

Bound IPs are kept in ``[pods + minWarm, pods + maxWarm]``, both raised to the node's floor (the Node
annotation ``desired-route-eni-pod-num``, 0 when unset), capped by ``maxENI x IPsPerENI``:
below the window the pool grows at once; above the cap idle IPs go at once; above the window they go
one per release tick, or all surplus per tick with quick release. Pure arithmetic: this module must
never read the clock, the API or the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from eni.api.v1.constants import WarmTargets


@dataclass(frozen=True, slots=True)
class PoolChange:
    """What the pool should do now."""

    assign: int = 0
    """New IPs to assign at once."""
    release: int = 0
    """Idle Bound IPs to mark Releasing now."""
    surplus_waiting: bool = False
    """There is surplus that waits for the next release tick."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolFigures:
    """The counts the decision depends on."""

    pods: int
    """IPs held by pods (the agent's in-use list, or pods requesting eni-ip before it reports)."""
    bound: int
    """IPs in state Bound (Releasing ones are on their way out and do not count)."""
    idle: int
    """Bound IPs no pod holds; only these can be released."""
    cap: int
    """maxENI x IPsPerENI of the node."""


def window(*, pods: int, warm: WarmTargets, cap: int, floor: int = 0) -> tuple[int, int]:
    """The node's ``(low, high)`` bound-IP window, both raised to ``floor`` and capped.

    >>> window(pods=3, warm=WarmTargets(min=5, max=8), cap=10)
    (8, 10)
    >>> window(pods=3, warm=WarmTargets(min=1, max=2), cap=10, floor=7)
    (7, 7)
    >>> window(pods=0, warm=WarmTargets(min=1, max=2), cap=10, floor=40)
    (10, 10)
    """
    return min(max(pods + warm.min, floor), cap), min(max(pods + warm.max, floor), cap)


def pool_change(figures: PoolFigures, *, warm: WarmTargets, quick_release: bool, tick_due: bool,
                floor: int = 0) -> PoolChange:
    """The change that moves the pool toward its window (``floor``: the node's desired bound IPs).

    >>> pool_change(PoolFigures(pods=0, bound=0, idle=0, cap=27), warm=WarmTargets(5, 5),
    ...             quick_release=False, tick_due=False)
    PoolChange(assign=5, release=0, surplus_waiting=False)
    >>> pool_change(PoolFigures(pods=0, bound=9, idle=9, cap=27), warm=WarmTargets(5, 5),
    ...             quick_release=False, tick_due=True)
    PoolChange(assign=0, release=1, surplus_waiting=True)
    """
    if min(figures.pods, figures.bound, figures.idle, figures.cap, floor) < 0:
        raise ValueError(f"negative pool figures: {figures}, floor {floor}")
    low, high = window(pods=figures.pods, warm=warm, cap=figures.cap, floor=floor)
    if figures.bound < low:
        return PoolChange(assign=low - figures.bound)
    if figures.bound > figures.cap:
        over_cap = min(figures.bound - figures.cap, figures.idle)
        rest = figures.bound - over_cap > high
        return PoolChange(release=over_cap, surplus_waiting=rest)
    if figures.bound > high:
        surplus = min(figures.bound - high, figures.idle)
        if surplus == 0:
            return PoolChange()
        if not tick_due:
            return PoolChange(surplus_waiting=True)
        release = surplus if quick_release else 1
        return PoolChange(release=release, surplus_waiting=surplus > release)
    return PoolChange()
