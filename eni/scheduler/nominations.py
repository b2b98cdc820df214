"""Nominations: the subnets that pods nominate (``nominated-eni-subnets``), counted by who nominates them.

With ``--only-nominated-eni-subnets`` a nominated subnet is reserved for the pods that nominate it, whichever
network they ask for: a VpcIPClaim carries the nominations of a shared-ENI pod (and keeps them while its IP is
retained), a live pod's own annotation those of a pod whose claim does not exist yet or that has none at all
(a direct-ENI pod). ``ClusterIndex`` records both here under distinct owners; a subnet stays reserved while any
owner nominates it.

Not thread-safe on its own: the index calls ``set`` under its lock. ``reserved`` is replaced, never changed in
place, so request threads may read it without the lock. Nothing here performs I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable


class Nominations:
    """Which owner nominates which subnets, and the union of them all."""

    __slots__ = ("_by_owner", "_counts", "reserved")

    def __init__(self) -> None:
        self._by_owner: dict[Hashable, frozenset[str]] = {}
        self._counts: Counter[str] = Counter()
        self.reserved: frozenset[str] = frozenset()
        """Every subnet some owner nominates now."""

    def set(self, owner: Hashable, subnets: Iterable[str]) -> bool:
        """Record that ``owner`` nominates ``subnets`` (none: it nominates nothing any more); True when the
        reserved subnets changed."""
        new = frozenset(subnets)
        old = self._by_owner.get(owner, frozenset())
        if new == old:
            return False
        if new:
            self._by_owner[owner] = new
        else:
            del self._by_owner[owner]
        for subnet in old - new:
            self._counts[subnet] -= 1
            if self._counts[subnet] <= 0:
                del self._counts[subnet]
        for subnet in new - old:
            self._counts[subnet] += 1
        reserved = frozenset(self._counts)
        changed = reserved != self.reserved
        self.reserved = reserved
        return changed

    def nominates(self, owner: Hashable) -> bool:
        """Whether ``owner`` nominates any subnet now (a cheap test before taking a lock)."""
        return owner in self._by_owner
