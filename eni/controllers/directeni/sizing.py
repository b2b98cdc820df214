"""How many exclusive ENIs a node should gain or give back right now (non-static warm pool).

Free ENIs (Bound, held by no pod) are kept in ``[minWarm, maxWarm]``: below the window new ENIs are
created at once, above it the surplus is marked Releasing at once (an ENI is a whole interface, not a
cheap IP, so there is no release tick). Every attached exclusive ENI, Releasing ones included, counts
against the node's ``maxDirectENI``: growth stops there, and free ENIs beyond a lowered cap are given
back. Pure arithmetic: this module must never read the clock, the API or the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from eni.api.v1.constants import WarmTargets


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectFigures:
    """The counts the decision depends on."""

    in_use: int
    """Bound exclusive ENIs held by pods (the agent's inUseENIs, or direct-ENI pods before it reports)."""
    free: int
    """Bound exclusive ENIs no pod holds: the warm pool."""
    releasing: int
    """Exclusive ENIs in state Releasing: still attached, on their way out."""
    cap: int
    """The node's maxDirectENI."""

    def __post_init__(self) -> None:
        if min(self.in_use, self.free, self.releasing, self.cap) < 0:
            raise ValueError(f"negative exclusive-ENI figures: {self}")


@dataclass(frozen=True, slots=True)
class DirectChange:
    """What the node's exclusive-ENI pool should do now."""

    create: int = 0
    """New ENIs to create and attach."""
    release: int = 0
    """Free ENIs to mark Releasing."""
    short: int = 0
    """ENIs the window wants that the cap does not allow."""


def direct_change(figures: DirectFigures, *, warm: WarmTargets) -> DirectChange:
    """The change that moves the free exclusive ENIs toward ``warm``, within the cap.

    >>> direct_change(DirectFigures(in_use=0, free=0, releasing=0, cap=6), warm=WarmTargets(1, 1))
    DirectChange(create=1, release=0, short=0)
    >>> direct_change(DirectFigures(in_use=2, free=3, releasing=0, cap=6), warm=WarmTargets(1, 1))
    DirectChange(create=0, release=2, short=0)
    >>> direct_change(DirectFigures(in_use=5, free=0, releasing=1, cap=6), warm=WarmTargets(2, 2))
    DirectChange(create=0, release=0, short=2)
    """
    if not 0 <= warm.min <= warm.max:
        raise ValueError(f"warm targets need 0 <= min <= max: {warm}")
    attached = figures.in_use + figures.free + figures.releasing
    over_cap = figures.in_use + figures.free - figures.cap
    if over_cap > 0:  # a lowered cap: free ENIs go first, whatever the window says
        release = min(over_cap, figures.free)
        return DirectChange(release=release, short=max(0, warm.min - (figures.free - release)))
    if figures.free < warm.min:
        wanted = warm.min - figures.free
        create = max(0, min(wanted, figures.cap - attached))
        return DirectChange(create=create, short=wanted - create)
    return DirectChange(release=figures.free - warm.max) if figures.free > warm.max else DirectChange()
